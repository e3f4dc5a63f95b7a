"""matter teams and ethical walls

`matter_screens`: a person screened from a matter (ABA Model Rule 1.10), with the reason,
who screened them and when. `wall_hits`: every refused attempt of a screened person on
that matter, the evidence that the wall held (ids, not foreign keys: the record outlives
the screen and the matter, as the audit trail does). Both tables are new, so their indexes
are built with them; no existing table is touched.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('matter_screens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('screened_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['matter_id'], ['matters.id'], name=op.f('fk_matter_screens_matter_id_matters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_matter_screens_org_id_organizations')),
    sa.ForeignKeyConstraint(['screened_by_id'], ['users.id'], name=op.f('fk_matter_screens_screened_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_matter_screens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matter_screens')),
    sa.UniqueConstraint('matter_id', 'user_id', name=op.f('uq_matter_screens_matter_id_user_id'))
    )
    op.create_index('ix_matter_screens_user_id_matter_id', 'matter_screens', ['user_id', 'matter_id'], unique=False)
    op.create_table('wall_hits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('attempted', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wall_hits'))
    )
    op.create_index('ix_wall_hits_matter_id_id', 'wall_hits', ['matter_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_wall_hits_matter_id_id', table_name='wall_hits')
    op.drop_table('wall_hits')
    op.drop_index('ix_matter_screens_user_id_matter_id', table_name='matter_screens')
    op.drop_table('matter_screens')
