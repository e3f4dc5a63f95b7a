"""The transaction boundary every service shares: one service call, one commit; SQLite
writers queued on a file lock; savepoints that keep what the journal appended."""

import contextvars
import fcntl
import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from flask import g, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from webapp.engine.errors import Conflict, DomainError, NotFound, OutcomeUnknown, Unavailable
from webapp.extensions import db
from webapp.persistence import faults
from webapp.persistence.journal import write_appended

P = ParamSpec("P")
R = TypeVar("R")

_WRITING = contextvars.ContextVar("matterflow_writing", default=False)


class WriterLock:
    """One SQLite writer at a time, queued on a file lock: a waiting writer wakes the
    moment the lock is free, where SQLite's own busy handler sleeps and polls."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "a+b")  # noqa: SIM115 - held for the connection's life
        self.held = False

    def acquire(self) -> None:
        fcntl.flock(self.file, fcntl.LOCK_EX)
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            fcntl.flock(self.file, fcntl.LOCK_UN)


def writer_lock_path(database: str | None) -> str | None:
    return f"{database}.writer-lock" if database and database != ":memory:" else None


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, and BEGIN IMMEDIATE for service transactions: with a plain
    BEGIN, a read that later upgrades to a write fails with 'database is locked'. A file
    database also queues its writers on a WriterLock."""
    lock_path = writer_lock_path(engine.url.database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        if lock_path:
            record.info["writer_lock"] = WriterLock(lock_path)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not _WRITING.get():
            connection.exec_driver_sql("BEGIN")
            return
        lock = connection.connection.info.get("writer_lock")
        if lock is not None:
            lock.acquire()
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        # After the COMMIT or ROLLBACK has finished, however the transaction ended.
        lock = record.info.get("writer_lock")
        if lock is not None:
            lock.release()


# Pairs called just before the door's commit (adding rows to it) and, with what the first
# returned, just after it: the request receipts (receipts.py) register here, so this module
# needs to know nothing of them.
COMMIT_WATCHERS: list[tuple[Callable[[], Any], Callable[[Any], None]]] = []


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """One service call, one commit. A lost optimistic-lock race or a unique-key race
    becomes a Conflict, and nothing of the failed call is kept. A database fault before the
    commit (a dropped connection, a deadlock) rolls back and tries the call again, twice at
    most; one during the commit is answered as OutcomeUnknown, since the change may have
    been saved."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if _WRITING.get():  # nested service call: the outer one commits
            return fn(*args, **kwargs)
        for retry in range(faults.RETRIES + 1):
            try:
                return _one_transaction(fn, *args, **kwargs)
            except _Retry as fault:
                if retry == faults.RETRIES:
                    raise Unavailable(
                        "The database could not be reached, so nothing was changed. "
                        "Try again in a moment."
                    ) from fault.__cause__
                time.sleep(faults.BACKOFF_SECONDS[retry])
        raise AssertionError("unreachable")

    return wrapper


class _Retry(Exception):
    """A database fault before the commit: nothing was kept, the call may run again."""


def _one_transaction(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    session = db.session
    if session().in_transaction() and db.engine.dialect.name == "sqlite":
        # SQLite: the reads so far hold a snapshot; writing needs a BEGIN IMMEDIATE.
        # PostgreSQL's READ COMMITTED sees every commit: the request's reads go on.
        session.commit()
    token = _WRITING.set(True)
    try:
        try:
            result = fn(*args, **kwargs)
            session.flush()  # a fault while writing the rows is still before the commit
            noted = [(after, before()) for before, after in COMMIT_WATCHERS]
        except DBAPIError as error:
            session.rollback()
            if faults.is_transient(error) and not _sqlite_locked(error):
                raise _Retry() from error
            raise
        _commit()
        if has_request_context():
            g.changes_saved = True  # an error after this must not say "nothing was changed"
        for after, value in noted:
            after(value)
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
        if _sqlite_locked(error):
            raise Conflict("The database is busy. Try again in a moment.") from error
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        _WRITING.reset(token)


_COMMIT_SENT = contextvars.ContextVar("matterflow_commit_sent", default=False)


@event.listens_for(Engine, "commit")
def _commit_sent(_connection: Any) -> None:
    _COMMIT_SENT.set(True)


def _commit() -> None:
    """The session's commit also writes what it held back (the audit rows, journal.py):
    a fault before the COMMIT itself went out leaves nothing saved and may be tried again;
    one after it, and the outcome is unknown."""
    token = _COMMIT_SENT.set(False)
    try:
        db.session.commit()
    except DBAPIError as error:
        if not faults.is_transient(error) or _sqlite_locked(error):
            raise
        db.session.rollback()
        if not _COMMIT_SENT.get():
            raise _Retry() from error
        raise OutcomeUnknown(
            "The database stopped answering while this change was being saved, so it may or "
            "may not have been. Reload to check, or send the request again with the same "
            "X-Request-ID: if it was saved, the answer is its result."
        ) from error
    finally:
        _COMMIT_SENT.reset(token)


def _sqlite_locked(error: DBAPIError) -> bool:
    return db.engine.dialect.name == "sqlite" and "locked" in str(error).lower()


def changes_saved() -> bool:
    """Whether a service call of this request has committed."""
    return has_request_context() and bool(g.get("changes_saved"))


def get_or_404(model: type, row_id: Any, org_id: int, label: str) -> Any:
    row = db.session.get(model, row_id)
    if row is None or getattr(row, "org_id", None) != org_id:
        raise NotFound(f"{label} {row_id} was not found.")
    return row


@contextmanager
def savepoint() -> Iterator[None]:
    """`begin_nested()` for service code: the rows the enclosing transaction appended so
    far are written first, so rolling back to the savepoint cannot drop them."""
    session = db.session()
    session.flush()
    write_appended(session)
    with session.begin_nested():
        yield
