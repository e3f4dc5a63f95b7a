"""Database errors that pass: a connection lost (a restart, a failover, a backend killed),
a serialization failure, a deadlock. The same work tried again a moment later succeeds,
so they are retried — never counted against a job, never answered as a final failure."""

import sqlite3

import psycopg
from sqlalchemy.exc import DBAPIError

from webapp.engine.errors import Unavailable
from webapp.extensions import db

RETRIES = 2  # the door's tries after the first, for a fault before the commit
BACKOFF_SECONDS = (0.05, 0.25)


# SQLSTATEs of faults that pass: the connection (08…), the server shutting down or starting
# (57P01 to 57P03), too many connections, a serialization failure, a deadlock. A lock or
# statement timeout (55P03, 57014) is not among them: trying again would pile up waiters.
TRANSIENT_STATES = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01")


def is_transient(error: BaseException) -> bool:
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    if isinstance(original, psycopg.Error):
        state = original.sqlstate
        if state is None:  # the connection broke before the server could say why
            return isinstance(original, psycopg.OperationalError)
        return state.startswith(TRANSIENT_STATES)
    if isinstance(original, sqlite3.OperationalError):
        text = str(original).lower()
        return "locked" in text or "busy" in text
    return False


def database_fault(error: BaseException) -> bool:
    """The database failed, not the work: a transient error, or the door's answer that it
    stayed away (Unavailable, OutcomeUnknown)."""
    return isinstance(error, Unavailable) or is_transient(error)


def drop_session() -> None:
    """Roll back after a fault; a session whose connection died may not even do that, and
    is then replaced by a new one."""
    try:
        db.session.rollback()
    except Exception:
        db.session.remove()
