"""scheduled go-live and bulk migrations

A published template version may carry `effective_from`: new workflows start from the
newest version already in effect. `migration_runs` and `migration_run_items` hold a bulk
move of running instances to a newer version: its progress and a report per instance.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('workflow_templates') as batch_op:
        batch_op.add_column(sa.Column('effective_from', sa.DateTime(timezone=True), nullable=True))
    op.create_table('migration_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('template_key', sa.String(length=100), nullable=False),
    sa.Column('from_version', sa.Integer(), nullable=False),
    sa.Column('to_version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('migrated', sa.Integer(), nullable=False),
    sa.Column('blocked', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_migration_runs_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_migration_runs_org_id_organizations')),
    sa.ForeignKeyConstraint(['template_id'], ['workflow_templates.id'], name=op.f('fk_migration_runs_template_id_workflow_templates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_migration_runs'))
    )
    op.create_index('ix_migration_runs_template_id_id', 'migration_runs', ['template_id', 'id'], unique=False)
    op.create_table('migration_run_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('matter_reference', sa.String(length=100), nullable=False),
    sa.Column('instance_title', sa.String(length=300), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['migration_runs.id'], name=op.f('fk_migration_run_items_run_id_migration_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_migration_run_items')),
    sa.UniqueConstraint('run_id', 'instance_id', name=op.f('uq_migration_run_items_run_id_instance_id'))
    )


def downgrade():
    op.drop_table('migration_run_items')
    op.drop_index('ix_migration_runs_template_id_id', table_name='migration_runs')
    op.drop_table('migration_runs')
    with op.batch_alter_table('workflow_templates') as batch_op:
        batch_op.drop_column('effective_from')
