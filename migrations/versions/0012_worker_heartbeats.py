"""worker heartbeats

Each worker writes when it was last alive; `/health/ready` is not ready while no worker
has been seen recently.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 14:40:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_heartbeats',
    sa.Column('worker_id', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('jobs_run', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('worker_id')
    )
    with op.batch_alter_table('worker_heartbeats') as batch_op:
        batch_op.create_index('ix_worker_heartbeats_seen_at', ['seen_at'], unique=False)


def downgrade():
    with op.batch_alter_table('worker_heartbeats') as batch_op:
        batch_op.drop_index('ix_worker_heartbeats_seen_at')
    op.drop_table('worker_heartbeats')
