"""sessions that end, security events

`users.session_epoch` moves on when a person signs out; a session begun under an older
epoch (a copied cookie) is refused. `security_events` keeps a firm's sign-ins, token use,
refused accesses, CSRF failures and ethical-wall hits for its admins (a new, empty table:
its indexes are built with it).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:30:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # A constant default: PostgreSQL adds the column without rewriting the table.
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(
            sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False)
        )
    op.create_table('security_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_security_events_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_events'))
    )
    op.create_index('ix_security_events_org_id_id', 'security_events', ['org_id', 'id'], unique=False)
    op.create_index('ix_security_events_org_kind_id', 'security_events', ['org_id', 'kind', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_security_events_org_kind_id', table_name='security_events')
    op.drop_index('ix_security_events_org_id_id', table_name='security_events')
    op.drop_table('security_events')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('session_epoch')
