"""tamper-evident audit: hash chains, TRUNCATE refused, attempts and dead letters kept

`workflow_events` gains `prev_hash` and `hash`: each row is sealed into its matter's hash
chain (or its firm's, for rows about no matter). Rows already there are sealed here, chain
by chain in id order, with the same canonical form the app uses
(webapp/persistence/audit_chain.py). The index `ix_workflow_events_chain` (firm, matter,
id) finds a chain's head and reads a chain in order; on PostgreSQL it is built
CONCURRENTLY.

On PostgreSQL only:
- `matterflow_chain_head(org, matter)` takes a transaction-scoped advisory lock on the
  chain and returns its head's hash, read after the lock with a fresh snapshot (the
  function is VOLATILE): the appending transaction's one extra read;
- a statement-level BEFORE TRUNCATE trigger on the audit tables (`workflow_events`,
  `instance_changes`): row triggers never see a TRUNCATE;
- `step_attempts` are append-only: an attempt is closed once (RUNNING → its outcome) and
  never changed after; it goes only with its step (a foreign-key cascade);
- dead letters (jobs in DEAD) are never deleted and never changed, except by a retry,
  which sends the job back to PENDING with the same kind and payload.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 14:30:00

"""

import sqlalchemy as sa
from alembic import op

from webapp.models.base import JSONType
from webapp.persistence.audit_chain import row_hash

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CHAIN_INDEX = ("ix_workflow_events_chain", "workflow_events", ["org_id", "matter_id", "id"])
TRUNCATE_REFUSED = ("workflow_events", "instance_changes")
# Advisory lock classes: a matter's chain, a firm's chain of rows about no matter.
MATTER_CHAIN_LOCK = 7301
FIRM_CHAIN_LOCK = 7302

EVENTS = sa.table(
    "workflow_events",
    sa.column("id", sa.Integer),
    sa.column("org_id", sa.Integer),
    sa.column("matter_id", sa.Integer),
    sa.column("instance_id", sa.Integer),
    sa.column("step_id", sa.Integer),
    sa.column("template_id", sa.Integer),
    sa.column("actor_id", sa.Integer),
    sa.column("event_type", sa.String),
    sa.column("old_status", sa.String),
    sa.column("new_status", sa.String),
    sa.column("payload", JSONType),
    sa.column("request_id", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)


def _postgres():
    return op.get_bind().dialect.name == "postgresql"


def _seal_existing_rows():
    """Every chain already written, sealed in id order (SQLite; PostgreSQL below, as the
    owner: the row trigger that refuses UPDATE is off meanwhile, inside this migration's
    transaction)."""
    bind = op.get_bind()
    chains = bind.execute(sa.select(EVENTS.c.org_id, EVENTS.c.matter_id).distinct()).all()
    update = (
        sa.update(EVENTS)
        .where(EVENTS.c.id == sa.bindparam("row_id"))
        .values(prev_hash=sa.bindparam("p"), hash=sa.bindparam("h"))
    )
    for org_id, matter_id in chains:
        same = (
            EVENTS.c.matter_id == matter_id
            if matter_id is not None
            else EVENTS.c.matter_id.is_(None)
        )
        query = sa.select(EVENTS).where(EVENTS.c.org_id == org_id, same).order_by(EVENTS.c.id)
        prev = None
        batch = []
        for row in bind.execute(query).mappings():
            current = row_hash(row, prev)
            batch.append({"row_id": row["id"], "p": prev, "h": current})
            prev = current
            if len(batch) >= 2000:
                bind.execute(update, batch)
                batch = []
        if batch:
            bind.execute(update, batch)


HASHED = (
    "id, org_id, matter_id, instance_id, step_id, template_id, actor_id, event_type, "
    "old_status, new_status, payload, request_id, created_at"
)


def _seal_existing_rows_postgres():
    """The same on PostgreSQL, for millions of rows: one streamed read in chain order, the
    hashes copied into a temporary table, then one UPDATE joining it."""
    raw = op.get_bind().connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE audit_seal (id integer PRIMARY KEY, prev_hash text, "
            "hash text) ON COMMIT DROP"
        )
    reader = raw.cursor(name="audit_seal_reader")
    reader.itersize = 10_000
    reader.execute(f"SELECT {HASHED} FROM workflow_events ORDER BY org_id, matter_id, id")
    names = [column.strip() for column in HASHED.split(",")]
    heads = {}
    sealed = []
    for values in reader:
        row = dict(zip(names, values))
        key = (row["org_id"], row["matter_id"])
        prev = heads.get(key)
        heads[key] = row_hash(row, prev)
        sealed.append((row["id"], prev, heads[key]))
        if len(sealed) >= 50_000:
            _copy_sealed(raw, sealed)
    _copy_sealed(raw, sealed)
    reader.close()
    with raw.cursor() as cursor:
        cursor.execute(
            "UPDATE workflow_events e SET prev_hash = s.prev_hash, hash = s.hash "
            "FROM audit_seal s WHERE e.id = s.id"
        )


def _copy_sealed(raw, sealed):
    if not sealed:
        return
    with raw.cursor() as cursor:
        with cursor.copy("COPY audit_seal (id, prev_hash, hash) FROM STDIN") as copy:
            for record in sealed:
                copy.write_row(record)
    sealed.clear()


def _chain_head_function():
    op.execute(
        f"""
        CREATE FUNCTION matterflow_chain_head(p_org integer, p_matter integer) RETURNS text AS $$
        BEGIN
            IF p_matter IS NULL THEN
                PERFORM pg_advisory_xact_lock({FIRM_CHAIN_LOCK}, p_org);
                RETURN (SELECT hash FROM workflow_events
                        WHERE org_id = p_org AND matter_id IS NULL ORDER BY id DESC LIMIT 1);
            END IF;
            PERFORM pg_advisory_xact_lock({MATTER_CHAIN_LOCK}, p_matter);
            RETURN (SELECT hash FROM workflow_events
                    WHERE org_id = p_org AND matter_id = p_matter ORDER BY id DESC LIMIT 1);
        END;
        $$ LANGUAGE plpgsql VOLATILE
        """
    )


def _kept_records():
    for table in TRUNCATE_REFUSED:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION matterflow_append_only()"
        )
    # pg_trigger_depth() > 1: the delete comes from a foreign key's cascade (a step, an
    # instance or a matter deleted), not from a statement on the table itself.
    op.execute(
        """
        CREATE FUNCTION matterflow_attempt_kept() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                IF pg_trigger_depth() > 1 THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION 'step_attempts is append-only: an attempt goes only with its step';
            END IF;
            IF OLD.status <> 'RUNNING'
               OR (NEW.id, NEW.org_id, NEW.instance_id, NEW.step_id, NEW.number, NEW.started_at)
                  IS DISTINCT FROM
                  (OLD.id, OLD.org_id, OLD.instance_id, OLD.step_id, OLD.number, OLD.started_at)
               OR NEW.inputs::text IS DISTINCT FROM OLD.inputs::text THEN
                RAISE EXCEPTION 'step_attempts is append-only: a finished attempt never changes';
            END IF;
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER step_attempts_append_only BEFORE UPDATE OR DELETE ON step_attempts "
        "FOR EACH ROW EXECUTE FUNCTION matterflow_attempt_kept()"
    )
    op.execute(
        """
        CREATE FUNCTION matterflow_dead_letter_kept() RETURNS trigger AS $$
        BEGIN
            IF OLD.status <> 'DEAD' THEN
                RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END IF;
            IF TG_OP = 'UPDATE' AND NEW.status = 'PENDING'
               AND (NEW.id, NEW.org_id, NEW.instance_id, NEW.kind, NEW.created_at)
                   IS NOT DISTINCT FROM
                   (OLD.id, OLD.org_id, OLD.instance_id, OLD.kind, OLD.created_at)
               AND NEW.payload::text IS NOT DISTINCT FROM OLD.payload::text THEN
                RETURN NEW;  -- a retry: the same job, sent back to the queue
            END IF;
            RAISE EXCEPTION 'a dead letter (job %) is kept: only a retry may change it', OLD.id;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER jobs_dead_letters_kept BEFORE UPDATE OR DELETE ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION matterflow_dead_letter_kept()"
    )


def upgrade():
    name, table, columns = CHAIN_INDEX
    if _postgres():
        with op.get_context().autocommit_block():
            quoted = ", ".join(f'"{column}"' for column in columns)
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} ({quoted})")
    else:
        op.create_index(name, table, columns, unique=False)
    with op.batch_alter_table("workflow_events") as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    if _postgres():
        op.execute("ALTER TABLE workflow_events DISABLE TRIGGER workflow_events_append_only")
        _seal_existing_rows_postgres()
        op.execute("ALTER TABLE workflow_events ENABLE TRIGGER workflow_events_append_only")
    else:
        _seal_existing_rows()
    with op.batch_alter_table("workflow_events") as batch_op:
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    if _postgres():
        _chain_head_function()
        _kept_records()


def downgrade():
    if _postgres():
        op.execute("DROP TRIGGER IF EXISTS jobs_dead_letters_kept ON jobs")
        op.execute("DROP FUNCTION IF EXISTS matterflow_dead_letter_kept()")
        op.execute("DROP TRIGGER IF EXISTS step_attempts_append_only ON step_attempts")
        op.execute("DROP FUNCTION IF EXISTS matterflow_attempt_kept()")
        for table in TRUNCATE_REFUSED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS matterflow_chain_head(integer, integer)")
    with op.batch_alter_table("workflow_events") as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    name, table, _columns = CHAIN_INDEX
    if _postgres():
        with op.get_context().autocommit_block():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    else:
        op.drop_index(name, table_name=table)
