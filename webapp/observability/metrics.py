"""Counters and histograms, added to by whichever process did the work (a web server, a
`flask worker`). With PROMETHEUS_MULTIPROC_DIR set (gunicorn, several workers) each
process writes its figures to files there and a scrape adds them all up; without it
(`make run`, the tests) they live in this process. A change's figures are added only once
its transaction has committed: a rolled-back change never counts (`after_commit`)."""

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from webapp.extensions import db

REGISTRY = CollectorRegistry(auto_describe=True)

STEPS = Counter(
    "matterflow_steps",
    "Steps finished, by action type and outcome (completed, failed, skipped).",
    ["action_type", "outcome"],
    registry=REGISTRY,
)
# Seconds: an automated step takes moments, a person's hours to weeks.
CYCLE_BUCKETS = (1.0, 10.0, 60.0, 600.0, 3600.0, 8 * 3600.0, 86400.0, 7 * 86400.0, 30 * 86400.0)
CYCLE = Histogram(
    "matterflow_step_cycle_seconds",
    "Time from a step becoming READY to its completion, by action type.",
    ["action_type"],
    buckets=CYCLE_BUCKETS,
    registry=REGISTRY,
)
TRANSITIONS = Counter(
    "matterflow_transitions",
    "Events of the step state machine applied (activate, start, complete, fail, ...).",
    ["event"],
    registry=REGISTRY,
)
HTTP = Histogram(
    "matterflow_http_request_duration_seconds",
    "Time to answer an HTTP request, by route (the URL rule), method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
JOBS = Counter(
    "matterflow_job_runs",
    "Outbox jobs run by the workers, by kind and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
FIRINGS = Counter(
    "matterflow_trigger_firings",
    "Trigger firings, by trigger kind and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
EMAILS = Counter(
    "matterflow_emails",
    "Emails handed to the mail server (sent) or refused by it (failed).",
    ["outcome"],
    registry=REGISTRY,
)

STEP_OUTCOMES = {"COMPLETED": "completed", "FAILED": "failed", "SKIPPED": "skipped"}
_PENDING = "matterflow_metrics_pending"
_MARKS = "matterflow_metrics_marks"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def on_commit(add: Callable[[], None]) -> None:
    """Add these figures once the current transaction commits; never if it rolls back."""
    db.session().info.setdefault(_PENDING, []).append(add)


def step_moved(
    action_type: str, event_name: str, new_state: str, ready_since: datetime | None, now: datetime
) -> None:
    """One event of the step machine (the step door's `step_event`), counted at commit."""
    outcome = STEP_OUTCOMES.get(new_state)
    cycle = (now - ready_since).total_seconds() if ready_since and outcome == "completed" else None

    def add() -> None:
        TRANSITIONS.labels(event_name).inc()
        if outcome is not None:
            STEPS.labels(action_type, outcome).inc()
        if cycle is not None:
            CYCLE.labels(action_type).observe(max(0.0, cycle))

    on_commit(add)


def trigger_fired(kind: str, outcome: str) -> None:
    on_commit(lambda: FIRINGS.labels(kind, outcome).inc())


def job_ran(kind: str, result: str) -> None:
    """After a job run: its own transactions have ended, so this counts at once."""
    JOBS.labels(kind, _job_outcome(result)).inc()


def _job_outcome(result: str) -> str:
    # The worker's words for its log line, folded into a few label values.
    for word in ("done", "busy", "run again", "failed"):
        if result.startswith(word):
            return word.replace(" ", "_")
    return "error"


def email_sent(sent: bool) -> None:
    EMAILS.labels("sent" if sent else "failed").inc()


def request_answered(route: str, method: str, status: int, seconds: float) -> None:
    HTTP.labels(route, method, f"{status // 100}xx").observe(seconds)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_MARKS, {})
        marks[id(transaction)] = len(session.info.get(_PENDING, ()))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous: SessionTransaction) -> None:
    mark = session.info.get(_MARKS, {}).pop(id(previous), None)
    if previous.nested and mark is not None:
        del session.info.get(_PENDING, [])[mark:]  # only what the savepoint added
    else:
        session.info.pop(_PENDING, None)
        session.info.pop(_MARKS, None)


@event.listens_for(Session, "after_commit")
def _add_committed(session: Session) -> None:
    pending: list[Callable[[], None]] = session.info.pop(_PENDING, [])
    session.info.pop(_MARKS, None)
    for add in pending:
        add()


@event.listens_for(Session, "after_transaction_end")
def _forget_unfinished(session: Session, transaction: Any) -> None:
    # A transaction closed without a commit or rollback (the session closed): nothing counts.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_PENDING, None)
        session.info.pop(_MARKS, None)
