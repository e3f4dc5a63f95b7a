"""form tokens: the one-use tokens of forms and HTMX requests that changed something

A token is written in the same commit as the change its request made, so the same form
sent twice (a double click, a retried request) changes things once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('form_tokens',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_form_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_form_tokens'))
    )
    with op.batch_alter_table('form_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_form_tokens_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('form_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_form_tokens_created_at')
    op.drop_table('form_tokens')
