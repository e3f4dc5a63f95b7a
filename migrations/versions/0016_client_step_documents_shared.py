"""documents filed by client steps are shared with the client

Until now a client could open the files of the steps addressed to clients (their own
uploads); the Documents tab shows a client only what is shared with them. The files of
client steps already filed become shared, so no client loses sight of what they sent.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 17:55:00

"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "UPDATE documents SET shared_with_client = true WHERE step_id IN "
        "(SELECT id FROM instance_steps WHERE role_scope = 'CLIENT')"
    )


def downgrade():
    # Sharing is a person's decision from now on: which rows this upgrade shared cannot be
    # told from those shared since, so they stay shared.
    pass
