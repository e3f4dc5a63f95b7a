"""Which database errors pass (persistence/faults.py): the door tries those again and the
worker does not count them against a job; every other error is the work's own."""

import sqlite3

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError

from webapp.persistence.faults import is_transient


def wrapped(original: Exception) -> DBAPIError:
    """As SQLAlchemy raises a driver's error."""
    return OperationalError("SELECT 1", {}, original)


@pytest.mark.parametrize(
    "original",
    [
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.SerializationFailure("could not serialize access"),
        psycopg.errors.TooManyConnections("too many clients"),
        sqlite3.OperationalError("database is locked"),
    ],
)
def test_what_a_moment_later_would_succeed_is_transient(original: Exception) -> None:
    assert is_transient(wrapped(original))


@pytest.mark.parametrize(
    "original",
    [
        psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.UniqueViolation("duplicate key"),
        psycopg.errors.UndefinedTable("relation does not exist"),
        sqlite3.OperationalError("no such table: jobs"),
    ],
)
def test_what_would_fail_again_is_not(original: Exception) -> None:
    assert not is_transient(wrapped(original))


def test_an_error_that_is_not_the_databases_is_not() -> None:
    assert not is_transient(ValueError("a bug"))


def test_a_transaction_whose_connection_was_lost_under_a_swallowed_error_is_transient() -> None:
    """SQLAlchemy's answer when an earlier error that lost the connection was caught and
    let go (the rate limiter's key function does): the next request can succeed."""
    lost = PendingRollbackError(
        "Can't reconnect until invalid transaction is rolled back.  Please rollback() fully "
        "before proceeding"
    )
    assert is_transient(lost)


def test_a_transaction_ended_by_a_failed_flush_is_not_transient() -> None:
    flush = PendingRollbackError(
        "This Session's transaction has been rolled back due to a previous exception during flush."
    )
    assert not is_transient(flush)
