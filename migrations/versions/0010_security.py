"""sessions that end

`users.session_epoch` moves on when a person signs out; a session begun under an older
epoch (a copied cookie) is refused.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-07 14:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # A constant default: PostgreSQL adds the column without rewriting the table.
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(
            sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('session_epoch')
