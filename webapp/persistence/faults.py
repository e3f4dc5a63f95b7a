"""Database errors that pass: a connection lost (a restart, a failover, a backend killed),
a serialization failure, a deadlock. The same work tried again a moment later succeeds,
so they are retried — never counted against a job, never answered as a final failure."""

import sqlite3

import psycopg
from flask import Flask, g
from sqlalchemy.exc import DBAPIError, PendingRollbackError

from webapp.engine.errors import Unavailable
from webapp.extensions import db

RETRIES = 2  # the door's tries after the first, for a fault before the commit
BACKOFF_SECONDS = (0.05, 0.25)


# SQLSTATEs of faults that pass: the connection (08…), the server shutting down or starting
# (57P01 to 57P03), too many connections, a serialization failure, a deadlock. A lock or
# statement timeout (55P03, 57014) is not among them: trying again would pile up waiters.
TRANSIENT_STATES = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01")


# SQLAlchemy's words when a transaction's connection was lost under an earlier error that
# someone caught and let go (the rate limiter's key function does: it reads the token's
# user). Only a lost connection leaves a transaction in this state.
LOST_UNDER_EARLIER_ERROR = "Can't reconnect until invalid transaction is rolled back"


def is_transient(error: BaseException) -> bool:
    if isinstance(error, PendingRollbackError):
        return LOST_UNDER_EARLIER_ERROR in str(error)
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
        close_session()


def close_session() -> None:
    """End the session as Flask-SQLAlchemy does after each request, except that a
    connection the database ended meanwhile (its ROLLBACK fails) does not turn a finished
    answer into the server's own HTML error page: the session is let go instead; the pool
    has already thrown the dead connection away."""
    try:
        db.session.remove()
    except DBAPIError as error:
        if not is_transient(error):
            raise
        db.session.registry.clear()


def install(app: Flask) -> None:
    """Close the session before Flask-SQLAlchemy's own teardown does (teardowns run last
    registered first), which then finds nothing left to close; start each request with
    nothing saved."""

    @app.teardown_appcontext
    def _close(_error: BaseException | None) -> None:
        close_session()

    @app.before_request
    def _nothing_saved_yet() -> None:
        # transaction.changes_saved() is per request; `g` outlives a request when a caller
        # holds the app context open (the tests, a CLI command making requests).
        g.pop("changes_saved", None)
