"""notification emails: preferences, items and deliveries

People choose how notification emails reach them (`email_preference`: immediate, digest
or off; `digest_hour` in the firm's timezone). `email_items` are the things each person
is still to be told by email (one per kind, step and person), `email_deliveries` the
emails claimed and sent: the throttle reads them, and a job retried after sending finds
its items already taken.

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-07 17:05:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('email_preference', sa.String(length=10), server_default='immediate', nullable=False))
        batch_op.add_column(sa.Column('digest_hour', sa.Integer(), server_default='8', nullable=False))

    op.create_table('email_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_email_deliveries_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_deliveries_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_deliveries')),
    sa.UniqueConstraint('key', name=op.f('uq_email_deliveries_key'))
    )
    op.create_index('ix_email_deliveries_user_created', 'email_deliveries', ['user_id', 'created_at'], unique=False)

    op.create_table('email_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('matter_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('send_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_email_items_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_items_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delivery_id'], ['email_deliveries.id'], name=op.f('fk_email_items_delivery_id_email_deliveries'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_items')),
    sa.UniqueConstraint('key', name=op.f('uq_email_items_key'))
    )
    op.create_index('ix_email_items_user_waiting', 'email_items', ['user_id', 'delivery_id', 'send_after'], unique=False)


def downgrade():
    op.drop_index('ix_email_items_user_waiting', table_name='email_items')
    op.drop_table('email_items')
    op.drop_index('ix_email_deliveries_user_created', table_name='email_deliveries')
    op.drop_table('email_deliveries')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('digest_hour')
        batch_op.drop_column('email_preference')
