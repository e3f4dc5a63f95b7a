"""trace context on outbox jobs

`jobs.trace_context`: the W3C traceparent (tracing on) and the request id of the request
that enqueued the job, so the worker's span joins that trace and its audit rows carry that
request id. Nullable, no default, no index: on PostgreSQL adding it changes the catalogue
only, however many jobs there are (no table rewrite, no long lock).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 15:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
    with op.batch_alter_table('jobs') as batch_op:
        batch_op.add_column(sa.Column('trace_context', json_type, nullable=True))


def downgrade():
    with op.batch_alter_table('jobs') as batch_op:
        batch_op.drop_column('trace_context')
