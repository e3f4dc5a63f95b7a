"""document versions, notifications, secrets and resource links

Documents gain versions (`lineage_id`, `version`), a `source` (upload, render, signature)
and `shared_with_client`; existing rows become version 1 of themselves, not shared (the
old rule: a client saw only files of client steps). New tables: `notifications` (in-app),
`secrets` (a firm's encrypted credentials) and `resource_links` (what an action created
outside, so a retry finds it).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 17:10:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('documents') as batch_op:
        batch_op.add_column(sa.Column('lineage_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('source', sa.String(length=20), server_default='upload', nullable=False))
        batch_op.add_column(sa.Column('shared_with_client', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_documents_matter_lineage', ['matter_id', 'lineage_id', 'version'], unique=False)
    op.execute('UPDATE documents SET lineage_id = id')

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=True),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_notifications_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    op.create_index('ix_notifications_user_read_id', 'notifications', ['user_id', 'read_at', 'id'], unique=False)

    op.create_table('secrets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_secrets_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_secrets_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secrets')),
    sa.UniqueConstraint('org_id', 'name', name=op.f('uq_secrets_org_id_name'))
    )

    op.create_table('resource_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_resource_links_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['instance_steps.id'], name=op.f('fk_resource_links_step_id_instance_steps'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_links')),
    sa.UniqueConstraint('provider', 'idempotency_key', name=op.f('uq_resource_links_provider_idempotency_key'))
    )
    op.create_index('ix_resource_links_step', 'resource_links', ['step_id'], unique=False)


def downgrade():
    op.drop_index('ix_resource_links_step', table_name='resource_links')
    op.drop_table('resource_links')
    op.drop_table('secrets')
    op.drop_index('ix_notifications_user_read_id', table_name='notifications')
    op.drop_table('notifications')
    with op.batch_alter_table('documents') as batch_op:
        batch_op.drop_index('ix_documents_matter_lineage')
        batch_op.drop_column('shared_with_client')
        batch_op.drop_column('source')
        batch_op.drop_column('version')
        batch_op.drop_column('lineage_id')
