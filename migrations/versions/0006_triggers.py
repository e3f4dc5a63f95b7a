"""triggers: workflows that start themselves (webhook, schedule, event) and their firings

A firing is unique per trigger and key (a delivery id, a fire time, an event), so a
retried delivery, a second worker or a redelivered event starts nothing more.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 06:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('triggers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('template_key', sa.String(length=100), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('condition', sa.Text(), nullable=True),
    sa.Column('matter_rule', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('schedule', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('event_type', sa.String(length=60), nullable=True),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=True),
    sa.Column('next_fire_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_triggers_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_triggers_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triggers'))
    )
    with op.batch_alter_table('triggers', schema=None) as batch_op:
        batch_op.create_index('ix_triggers_kind_enabled_next', ['kind', 'enabled', 'next_fire_at'], unique=False)
        batch_op.create_index('ix_triggers_org_event', ['org_id', 'event_type'], unique=False)
        batch_op.create_index('ix_triggers_org_id_id', ['org_id', 'id'], unique=False)

    op.create_table('trigger_firings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('trigger_id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('matter_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['trigger_id'], ['triggers.id'], name=op.f('fk_trigger_firings_trigger_id_triggers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trigger_firings')),
    sa.UniqueConstraint('trigger_id', 'dedupe_key', name='uq_trigger_firings_trigger_key')
    )
    with op.batch_alter_table('trigger_firings', schema=None) as batch_op:
        batch_op.create_index('ix_trigger_firings_trigger_id_id', ['trigger_id', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('trigger_firings', schema=None) as batch_op:
        batch_op.drop_index('ix_trigger_firings_trigger_id_id')

    op.drop_table('trigger_firings')
    with op.batch_alter_table('triggers', schema=None) as batch_op:
        batch_op.drop_index('ix_triggers_org_id_id')
        batch_op.drop_index('ix_triggers_org_event')
        batch_op.drop_index('ix_triggers_kind_enabled_next')

    op.drop_table('triggers')
