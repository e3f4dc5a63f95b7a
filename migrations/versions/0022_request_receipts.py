"""request receipts

`request_receipts`: an API change made under the caller's X-Request-ID, written in the
change's transaction, with the answer kept beside it once sent — a retry with the same id
finds the change (persistence/receipts.py). Purged after REQUEST_RECEIPT_RETENTION_DAYS.

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-07 17:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0022'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
    op.create_table('request_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=100), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('answer', json_type, nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_request_receipts_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_request_receipts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_receipts')),
    sa.UniqueConstraint('user_id', 'request_id', name=op.f('uq_request_receipts_user_id_request_id'))
    )


def downgrade():
    op.drop_table('request_receipts')
