"""firm calendars, closure days, reminder defaults and calendar feeds

Organizations gain a timezone, a jurisdiction (`calendar_country`, `calendar_subdivision`)
for business and court days, and the defaults of reminders before a due time
(`remind_before`) and escalation after it (`escalate_after`); existing firms get UTC, US,
a reminder a day before and escalation at the due time. New tables: `firm_closures` (days
the firm is closed) and `calendar_feeds` (the nonce each person's feed URL is signed over).

Revision ID: 0018
Revises: 0022
Create Date: 2026-12-07 17:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizations') as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False))
        batch_op.add_column(sa.Column('calendar_country', sa.String(length=8), server_default='US', nullable=False))
        batch_op.add_column(sa.Column('calendar_subdivision', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('remind_before', sa.String(length=50), server_default='P1D', nullable=True))
        batch_op.add_column(sa.Column('escalate_after', sa.String(length=50), server_default='PT0S', nullable=True))

    op.create_table('firm_closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_firm_closures_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_firm_closures')),
    sa.UniqueConstraint('org_id', 'day', name=op.f('uq_firm_closures_org_id_day'))
    )

    op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_calendar_feeds_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds'))
    )
    op.create_index(op.f('ix_calendar_feeds_user_id'), 'calendar_feeds', ['user_id'], unique=True)


def downgrade():
    op.drop_index(op.f('ix_calendar_feeds_user_id'), table_name='calendar_feeds')
    op.drop_table('calendar_feeds')
    op.drop_table('firm_closures')
    with op.batch_alter_table('organizations') as batch_op:
        batch_op.drop_column('escalate_after')
        batch_op.drop_column('remind_before')
        batch_op.drop_column('calendar_subdivision')
        batch_op.drop_column('calendar_country')
        batch_op.drop_column('timezone')
