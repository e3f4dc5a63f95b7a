"""The transaction boundary every service shares, and small helpers it calls (they only flush)."""

import contextvars
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from webapp.engine.errors import Conflict, DomainError, NotFound
from webapp.extensions import db
from webapp.models import Job, WorkflowEvent
from webapp.models.base import utcnow

P = ParamSpec("P")
R = TypeVar("R")

_WRITING = contextvars.ContextVar("matterflow_writing", default=False)


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, and BEGIN IMMEDIATE for service transactions: with a plain
    BEGIN, a read that later upgrades to a write fails with 'database is locked'."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _WRITING.get() else "BEGIN")


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """One service call, one commit. A lost optimistic-lock race or a unique-key race
    becomes a Conflict, and nothing of the failed call is kept."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session = db.session
        if _WRITING.get():  # nested service call: the outer one commits
            return fn(*args, **kwargs)
        if session().in_transaction() and db.engine.dialect.name == "sqlite":
            # SQLite: the reads so far hold a snapshot; writing needs a BEGIN IMMEDIATE.
            # PostgreSQL's READ COMMITTED sees every commit: the request's reads go on.
            session.commit()
        token = _WRITING.set(True)
        try:
            result = fn(*args, **kwargs)
            session.commit()
            return result
        except DomainError:
            session.rollback()
            raise
        except StaleDataError as error:
            session.rollback()
            raise Conflict(
                "Someone else changed this at the same moment. Reload and try again."
            ) from error
        except IntegrityError as error:
            session.rollback()
            raise Conflict("This conflicts with existing data.", str(error.orig)[:200]) from error
        except OperationalError as error:
            session.rollback()
            if "locked" in str(error).lower():
                raise Conflict("The database is busy. Try again in a moment.") from error
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            _WRITING.reset(token)

    return wrapper


def get_or_404(model: type, row_id: Any, org_id: int, label: str) -> Any:
    row = db.session.get(model, row_id)
    if row is None or getattr(row, "org_id", None) != org_id:
        raise NotFound(f"{label} {row_id} was not found.")
    return row


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
) -> WorkflowEvent:
    row = WorkflowEvent(
        org_id=org_id,
        event_type=event_type,
        actor_id=actor_id,
        matter_id=matter_id,
        instance_id=instance_id,
        step_id=step_id,
        template_id=template_id,
        old_status=old_status,
        new_status=new_status,
        payload=payload or {},
        created_at=utcnow(),
    )
    db.session.add(row)
    return row


def enqueue(
    kind: str,
    payload: dict[str, Any],
    *,
    org_id: int | None = None,
    dedupe_key: str | None = None,
    run_at: Any = None,
    max_attempts: int = 5,
) -> Job:
    job = Job(
        kind=kind,
        payload=payload,
        org_id=org_id,
        dedupe_key=dedupe_key,
        run_at=run_at or utcnow(),
        max_attempts=max_attempts,
        status="PENDING",
        attempts=0,
    )
    db.session.add(job)
    return job
