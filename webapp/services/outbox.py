"""The outbox queue: claiming due jobs with a lease, settling them, the dead-letter list.

A claimed job is RUNNING with `locked_by`/`locked_until`. A worker that dies leaves the
lease to expire; the job is then due again and another worker picks it up. Every
settlement checks the job is still ours, so a worker that lost its lease cannot undo
the work of the one that took over."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, select, update

from webapp.extensions import db
from webapp.models import Job
from webapp.models.base import utcnow
from webapp.persistence.transaction import transactional
from webapp.services.clock import now as clock_now

PENDING, RUNNING, DONE, DEAD = "PENDING", "RUNNING", "DONE", "DEAD"
STATUSES = (PENDING, RUNNING, DONE, DEAD)
PARK_SECONDS = 60  # a job of a paused instance looks again this much later (or on resume)
GENERIC_BACKOFF_SECONDS = 10.0
# Called with each job that goes to the dead letters, in its transaction; services that
# tell people add themselves here (services/notifications), as the queue knows no one.
DEAD_LISTENERS: list[Callable[[Job], None]] = []


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    instance_id: int | None = None
    # The traceparent and request id of the request that enqueued it (jobs.trace_context).
    trace_context: dict[str, Any] | None = None


@transactional
def claim_jobs(worker_id: str, limit: int) -> list[Claimed]:
    """Due jobs, leased so no other worker takes them: first the leases that expired (a
    worker died), then the pending jobs whose time has come, oldest first. Each is one
    UPDATE … RETURNING over a sub-select that walks its index — (status, locked_until),
    (status, run_at, id) — and stops after `limit` rows, so a claim costs the same with
    100,000 jobs waiting as with none. The rows are picked with `FOR UPDATE SKIP LOCKED`
    on PostgreSQL; on SQLite the transaction itself is exclusive (BEGIN IMMEDIATE)."""
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["WORKER_LEASE_SECONDS"])
    expired = _lease(worker_id, lease, now, expired_leases(now, limit))
    pending = []
    if len(expired) < limit:
        # A job scheduled for a time (a reminder) is due by the services' clock too, so a
        # test moves that clock instead of waiting; leases keep real time.
        due = max(now, clock_now())
        pending = _lease(worker_id, lease, now, due_jobs(due, limit - len(expired)))
    return [
        Claimed(row.id, row.kind, row.instance_id, row.trace_context)
        for row in [*expired, *pending]
    ]


def expired_leases(now: datetime, limit: int) -> Select:
    """Jobs whose worker died: their lease ran out while RUNNING."""
    return (
        select(Job.id)
        .where(Job.status == RUNNING, Job.locked_until < now)
        .order_by(Job.locked_until)
        .limit(limit)
    )


def due_jobs(now: datetime, limit: int) -> Select:
    """The first pending jobs whose time has come, oldest first: an index range scan."""
    return (
        select(Job.id)
        .where(Job.status == PENDING, Job.run_at <= now)
        .order_by(Job.run_at, Job.id)
        .limit(limit)
    )


def _lease(worker_id: str, lease: datetime, now: datetime, picked: Select) -> list[Any]:
    rows = db.session.execute(
        update(Job)
        .where(Job.id.in_(picked.with_for_update(skip_locked=True).correlate(None)))
        .values(status=RUNNING, locked_by=worker_id, locked_until=lease, updated_at=now)
        .returning(Job.id, Job.kind, Job.instance_id, Job.run_at, Job.trace_context)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(rows, key=lambda row: (row.run_at, row.id))  # RETURNING has no order


def own_job(job_id: int, worker_id: str) -> Job | None:
    """The job, locked, when this worker still holds its lease; None otherwise."""
    return own_jobs([job_id], worker_id).get(job_id)


def own_jobs(job_ids: list[int], worker_id: str) -> dict[int, Job]:
    """Of these jobs, those this worker still holds the lease of, locked, by id."""
    found = db.session.scalars(
        select(Job)
        .where(Job.id.in_(job_ids))
        .order_by(Job.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {job.id: job for job in found if job.status == RUNNING and job.locked_by == worker_id}


def mark_done(job: Job, note: str | None = None) -> None:
    job.status = DONE
    job.locked_by = job.locked_until = None
    job.last_error = note
    job.updated_at = utcnow()


def mark_dead(job: Job, error: str) -> None:
    job.status = DEAD
    job.locked_by = job.locked_until = None
    job.last_error = error
    job.updated_at = utcnow()
    for listener in DEAD_LISTENERS:  # the admins hear of it in the same transaction
        listener(job)


def reschedule(job: Job, delay_seconds: float, error: str | None = None) -> None:
    now = utcnow()
    job.status = PENDING
    job.run_at = now + timedelta(seconds=delay_seconds)
    job.locked_by = job.locked_until = None
    if error is not None:
        job.last_error = error
    job.updated_at = now


def park(job: Job) -> None:
    """Its instance is paused: look again later; resuming makes it due at once."""
    reschedule(job, PARK_SECONDS)


@transactional
def fail_attempt(job_id: int, worker_id: str, error: str) -> None:
    """A job failed outside its runner's own accounting (an unexpected error rolled back
    whatever the runner wrote): the failure counts as an attempt, so the job retries with
    backoff and reaches the dead letters instead of retrying for ever."""
    job = own_job(job_id, worker_id)
    if job is None:
        return
    job.attempts += 1
    if job.attempts >= job.max_attempts:
        mark_dead(job, error)
    else:
        reschedule(job, GENERIC_BACKOFF_SECONDS * 2 ** max(job.attempts - 1, 0), error)


@transactional
def settle(job_id: int, worker_id: str, note: str | None = None) -> None:
    job = own_job(job_id, worker_id)
    if job is not None:
        mark_done(job, note)


@transactional
def release(job_ids: list[int], worker_id: str) -> None:
    """Jobs this worker holds that failed for a reason not theirs (the database went away):
    due again now, their attempts as they were."""
    now = utcnow()
    for job in own_jobs(job_ids, worker_id).values():
        job.status = PENDING
        job.run_at = now
        job.locked_by = job.locked_until = None
        job.updated_at = now
