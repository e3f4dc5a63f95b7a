"""instance steps: index on instance, state and order

The engine finds an instance's first pending step (and its open ones) through this
index without reading the steps that are done, so a transition costs the same in a
5-step and a 500-step instance.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 06:45:00

"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('instance_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_steps_instance_state')
        batch_op.create_index(
            'ix_instance_steps_instance_state_order',
            ['instance_id', 'action_state', 'order'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('instance_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_steps_instance_state_order')
        batch_op.create_index(
            'ix_instance_steps_instance_state', ['instance_id', 'action_state'], unique=False
        )
