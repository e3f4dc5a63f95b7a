"""client links: a client's signed, expiring, single-use link to one step

`client_links` holds one row per link sent (the token is signed and names the row; the
row makes it single use and revocable). A new, empty table: its indexes are built with it.

Revision ID: 0019
Revises: 0021
Create Date: 2026-12-07 17:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('client_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_client_links_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_client_links_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['instance_steps.id'], name=op.f('fk_client_links_step_id_instance_steps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_client_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_links'))
    )
    op.create_index('ix_client_links_step_id_id', 'client_links', ['step_id', 'id'], unique=False)
    op.create_index(op.f('ix_client_links_user_id'), 'client_links', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_client_links_user_id'), table_name='client_links')
    op.drop_index('ix_client_links_step_id_id', table_name='client_links')
    op.drop_table('client_links')
