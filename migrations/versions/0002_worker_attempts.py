"""worker: step attempts, job instance and lease indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('step_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('inputs', JSON, nullable=False),
    sa.Column('output', JSON, nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('worker_id', sa.String(length=100), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['workflow_instances.id'], name=op.f('fk_step_attempts_instance_id_workflow_instances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['instance_steps.id'], name=op.f('fk_step_attempts_step_id_instance_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_step_attempts')),
    sa.UniqueConstraint('step_id', 'number', name=op.f('uq_step_attempts_step_id_number'))
    )
    with op.batch_alter_table('step_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_step_attempts_instance', ['instance_id', 'step_id', 'number'], unique=False)

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instance_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_jobs_instance_id', ['instance_id'], unique=False)
        batch_op.create_index('ix_jobs_status_locked_until', ['status', 'locked_until'], unique=False)


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_status_locked_until')
        batch_op.drop_index('ix_jobs_instance_id')
        batch_op.drop_column('instance_id')

    with op.batch_alter_table('step_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_step_attempts_instance')

    op.drop_table('step_attempts')
