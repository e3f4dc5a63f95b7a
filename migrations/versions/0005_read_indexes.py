"""read indexes: what the pages, the API lists and the worker's claim read by

Added: matters by owner (who sees which matter), instances by firm and id (the API list,
newest first, paged from a cursor), open steps by state and due date (an admin's inbox),
jobs by status, run_at and id (the claim reads the first due jobs and no others) and by
firm, status and id (the operations page and the dead letters), and on PostgreSQL a
trigram index for matter search (pg_trgm). Dropped: what nothing reads by — instances by
creation time, audit rows by firm — and the indexes the new ones cover (matters by firm:
the unique (firm, reference) pair; instances by firm; jobs by status and run_at).

On PostgreSQL every index is built and dropped CONCURRENTLY, outside the migration's
transaction, so a large firm's tables stay writable while it runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:00:00

"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# (name, table, columns)
ADDED = [
    ('ix_matters_owner_id', 'matters', ['owner_id']),
    ('ix_workflow_instances_org_id_id', 'workflow_instances', ['org_id', 'id']),
    ('ix_instance_steps_state_due', 'instance_steps', ['action_state', 'due_at']),
    ('ix_jobs_status_run_at_id', 'jobs', ['status', 'run_at', 'id']),
    ('ix_jobs_org_status_id', 'jobs', ['org_id', 'status', 'id']),
]
DROPPED = [
    ('ix_matters_org_id', 'matters', ['org_id']),
    ('ix_workflow_instances_org_id', 'workflow_instances', ['org_id']),
    ('ix_workflow_instances_created_at', 'workflow_instances', ['created_at']),
    ('ix_workflow_events_org_id', 'workflow_events', ['org_id']),
    ('ix_jobs_status_run_at', 'jobs', ['status', 'run_at']),
]
SEARCH_INDEX = 'ix_matters_search_trgm'


def _postgres():
    return op.get_bind().dialect.name == 'postgresql'


def _create(indexes):
    for name, table, columns in indexes:
        if _postgres():
            quoted = ', '.join(f'"{column}"' for column in columns)
            op.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} ({quoted})')
        else:
            op.create_index(name, table, columns, unique=False)


def _drop(indexes):
    for name, table, _columns in indexes:
        if _postgres():
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {name}')
        else:
            op.drop_index(name, table_name=table)


def _create_search_index():
    """Matter search matches `lower(reference || ' ' || title) LIKE '%…%'`; the trigram
    operator class lives in whichever schema the extension was installed in."""
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    schema = op.get_bind().exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    ).scalar()
    op.execute(
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS {SEARCH_INDEX} ON matters USING gin '
        f"((lower(reference || ' ' || title)) \"{schema}\".gin_trgm_ops)"
    )


def upgrade():
    if not _postgres():
        _create(ADDED)
        _drop(DROPPED)
        return
    with op.get_context().autocommit_block():
        _create(ADDED)
        _drop(DROPPED)
        _create_search_index()


def downgrade():
    if not _postgres():
        _create(DROPPED)
        _drop(ADDED)
        return
    with op.get_context().autocommit_block():
        op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {SEARCH_INDEX}')
        _create(DROPPED)
        _drop(ADDED)
