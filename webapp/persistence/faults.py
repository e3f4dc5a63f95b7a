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


def is_transient(error: BaseException) -> bool:
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    # Connection-class failures (08…, 57P0…), cancellations, serialization failures and
    # deadlocks are all psycopg OperationalErrors or these two.
    if isinstance(
        original,
        psycopg.OperationalError
        | psycopg.errors.SerializationFailure
        | psycopg.errors.DeadlockDetected,
    ):
        return True
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
