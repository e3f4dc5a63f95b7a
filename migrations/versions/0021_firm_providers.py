"""a firm's choice of payment and e-signature provider

`organizations` gains `payment_provider` (sandbox | stripe) and `esign_provider`
(sandbox | dropbox_sign); every existing firm keeps the sandbox.

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-07 17:05:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0021'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizations') as batch_op:
        batch_op.add_column(sa.Column('payment_provider', sa.String(length=40), server_default='sandbox', nullable=False))
        batch_op.add_column(sa.Column('esign_provider', sa.String(length=40), server_default='sandbox', nullable=False))


def downgrade():
    with op.batch_alter_table('organizations') as batch_op:
        batch_op.drop_column('esign_provider')
        batch_op.drop_column('payment_provider')
