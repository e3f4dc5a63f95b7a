"""The journal: audit rows and outbox jobs appended in the transaction of the change that
causes them. Jobs are written with one multi-row INSERT when the session flushes; audit
rows are held until the commit, then sealed into their hash chains (persistence/audit_chain.py)
and written with one INSERT: the chain's lock is the transaction's last, held only while
it commits, so it never waits behind a lock taken after it (an instance's, a job's). It
also remembers, until the transaction ends, which steps the audit rows say moved: the
step door returns them as `Changed` without reading anything again."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.models import Job, WorkflowEvent
from webapp.models.base import utcnow
from webapp.observability.context import request_id
from webapp.observability.jobs import trace_context
from webapp.persistence.audit_chain import seal

# Audit rows and outbox jobs are append-only: they are written with one multi-row INSERT
# per table when the session flushes objects, autoflushes before a query, or commits,
# without the ORM's bookkeeping of each object.
_APPENDED = "matterflow_appended"
_MOVES = "matterflow_moves"
# Audit rows wait for the commit; a savepoint remembers how many were held when it began,
# so rolling it back drops only the rows appended inside it.
_HELD = "matterflow_held_events"
_MARKS = "matterflow_held_marks"


@dataclass(frozen=True)
class Move:
    """One state change an audit row recorded: a step's, or an instance's status."""

    instance_id: int | None
    step_id: int | None
    key: str | None
    before: str | None
    after: str | None


def moves() -> list[Move]:
    """The moves recorded in the current transaction so far."""
    return list(db.session().info.get(_MOVES, ()))


def _append(table: Table, row: dict[str, Any]) -> None:
    session = db.session()
    if not session.in_transaction():
        session.begin()  # the rows belong to a transaction: its rollback drops them
    session.info.setdefault(_APPENDED, []).append((table, row))


def _hold(row: dict[str, Any]) -> None:
    session = db.session()
    if not session.in_transaction():
        session.begin()
    session.info.setdefault(_HELD, []).append(row)


@event.listens_for(Session, "after_flush")
def _write_appended_after_flush(session: Session, _context: Any) -> None:
    write_appended(session)


@event.listens_for(Session, "before_commit")
def _write_appended_before_commit(session: Session) -> None:
    if session.info.get(_APPENDED) or session.info.get(_HELD):
        session.flush()  # the rows they name exist first; the flush writes them
        write_appended(session)
        write_events(session)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: Any) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_MARKS, {})
        marks[id(transaction)] = len(session.info.get(_HELD, ()))


@event.listens_for(Session, "do_orm_execute")
def _write_appended_before_query(state: Any) -> None:
    """As autoflush does for objects: a query sees the rows appended before it."""
    session = state.session
    if not (state.is_select and session.autoflush):
        return
    if session.info.get(_APPENDED):
        session.flush()
        write_appended(session)
    if session.info.get(_HELD) and _reads_audit_rows(state):
        write_events(session)


def _reads_audit_rows(state: Any) -> bool:
    return any(mapper.class_ is WorkflowEvent for mapper in state.all_mappers)


@event.listens_for(Session, "after_soft_rollback")
def _forget_appended(session: Session, previous: Any) -> None:
    session.info.pop(_APPENDED, None)
    session.info.pop(_MOVES, None)
    mark = session.info.get(_MARKS, {}).pop(id(previous), None)
    if previous.nested and mark is not None:
        del session.info.get(_HELD, [])[mark:]
    else:
        session.info.pop(_HELD, None)
        session.info.pop(_MARKS, None)


@event.listens_for(Session, "after_commit")
def _forget_moves(session: Session) -> None:
    session.info.pop(_MOVES, None)
    session.info.pop(_MARKS, None)


def write_appended(session: Session) -> None:
    appended = session.info.pop(_APPENDED, None)
    if not appended:
        return
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for table, row in appended:
        by_table.setdefault(table, []).append(row)
    connection = session.connection()
    for table, rows in by_table.items():
        connection.execute(insert(table), rows)


def write_events(session: Session) -> None:
    """The held audit rows, sealed into their chains (one head read per chain) and
    written with one INSERT."""
    held = session.info.pop(_HELD, None)
    if not held:
        return
    connection = session.connection()
    seal(connection, held)
    connection.execute(insert(WorkflowEvent.__table__), held)


def record_event(
    *,
    org_id: int,
    event_type: str,
    actor_id: int | None,
    matter_id: int | None = None,
    instance_id: int | None = None,
    step_id: int | None = None,
    template_id: int | None = None,
    old_status: str | None = None,
    new_status: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    if old_status != new_status and new_status is not None:
        key = (payload or {}).get("key")
        move = Move(instance_id, step_id, key, old_status, new_status)
        db.session().info.setdefault(_MOVES, []).append(move)
    _hold(
        {
            "org_id": org_id,
            "event_type": event_type,
            "actor_id": actor_id,
            "matter_id": matter_id,
            "instance_id": instance_id,
            "step_id": step_id,
            "template_id": template_id,
            "old_status": old_status,
            "new_status": new_status,
            "payload": payload or {},
            "request_id": request_id(),
            "created_at": utcnow(),
        },
    )


def enqueue(
    kind: str,
    payload: dict[str, Any],
    *,
    org_id: int | None = None,
    instance_id: int | None = None,
    dedupe_key: str | None = None,
    run_at: Any = None,
    max_attempts: int = 5,
) -> None:
    now = utcnow()
    _append(
        Job.__table__,
        {
            "kind": kind,
            "payload": payload,
            "org_id": org_id,
            "instance_id": instance_id,
            "dedupe_key": dedupe_key,
            "run_at": run_at or now,
            "max_attempts": max_attempts,
            "status": "PENDING",
            "attempts": 0,
            "locked_by": None,
            "locked_until": None,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
            "trace_context": trace_context(),
        },
    )
