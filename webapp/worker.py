"""The outbox worker: claims due jobs and runs each through the services.

`flask --app webapp worker` runs it as a process (any number, on any machine, with
PostgreSQL); `EMBEDDED_WORKER` runs it as one thread inside `flask run` (the SQLite
default). `drain()` is the loop both use."""

import functools
import logging
import os
import socket
import threading
from collections.abc import Callable

from flask import Flask, current_app

from webapp.extensions import db
from webapp.observability.jobs import Outcome, job_run
from webapp.observability.tracing import untraced
from webapp.persistence import faults
from webapp.services import outbox, retention
from webapp.services.automation import (
    InstanceBusy,
    PendingCall,
    begin_steps,
    call_out,
    fail_run,
    finish_parent_step,
    run_step_job,
)
from webapp.services.client_link_issue import LINK_JOB
from webapp.services.client_link_mail import run_link_job
from webapp.services.deadlines import NOTICE_JOB, run_notice_job
from webapp.services.documents import PURGE_FILES, run_purge_job
from webapp.services.email_delivery import run_email_job
from webapp.services.events import EVENT_JOB
from webapp.services.heartbeats import Heartbeat
from webapp.services.migration import MIGRATION_BATCH, run_migration_job
from webapp.services.notifications import (
    EMAIL_ITEM_JOB,
    EMAIL_JOB,
    run_item_job,
    run_member_job,
    run_notify_job,
)
from webapp.services.people import INVITATION_JOB, run_invitation_job
from webapp.services.steps.advance import CHILD_FINISHED, NOTIFY_READY, STEP_RUN
from webapp.services.team import MEMBER_ADDED
from webapp.services.triggers.runner import run_event_job
from webapp.services.triggers.schedule import tick_and_wait

log = logging.getLogger("matterflow.worker")

RUNNERS: dict[str, Callable[[outbox.Claimed, str], None]] = {
    STEP_RUN: run_step_job,
    NOTIFY_READY: run_notify_job,
    EMAIL_ITEM_JOB: run_item_job,
    EMAIL_JOB: run_email_job,
    MEMBER_ADDED: run_member_job,
    CHILD_FINISHED: finish_parent_step,
    EVENT_JOB: run_event_job,
    MIGRATION_BATCH: run_migration_job,
    INVITATION_JOB: run_invitation_job,
    PURGE_FILES: run_purge_job,
    LINK_JOB: run_link_job,
    NOTICE_JOB: run_notice_job,
}


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def drain(
    worker_id: str,
    until_idle: bool = True,
    poll: float | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run due jobs; return how many were run. `until_idle`: return once none is due
    (jobs scheduled later do not count). Call inside an app context; the worker uses a
    database session of its own, so the caller's session and objects are left alone."""
    stop = stop or threading.Event()
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is typed as Flask, not as the proxy it is
    poll = app.config["WORKER_POLL_SECONDS"] if poll is None else poll
    batch = app.config["WORKER_BATCH_SIZE"]
    processed = 0
    faults_in_a_row = 0
    with app.app_context():  # a fresh context: a fresh scoped session
        heartbeat = Heartbeat(worker_id)
        while not stop.is_set():
            try:
                with untraced():  # polling every second would be a trace a second
                    heartbeat.beat(processed)
                    wake = run_schedules(poll)
                    retention.run_when_due()
                    claimed = outbox.claim_jobs(worker_id, batch)
                if claimed:
                    run_claimed(claimed, worker_id)
            except Exception as error:
                if not faults.database_fault(error):
                    raise
                faults_in_a_row += 1
                _wait_for_database(error, faults_in_a_row, stop)
                continue
            faults_in_a_row = 0
            if not claimed:
                if until_idle:
                    break
                stop.wait(wake)
                continue
            processed += len(claimed)
    return processed


RECONNECT_MAX_SECONDS = 30.0  # the longest a worker waits before looking again


def check_when_reachable(check: Callable[[], None], stop: threading.Event) -> None:
    """Run the worker's start-up `check`, waiting for the database as the loop does when
    it is away (a restart, a failover): a worker started meanwhile must not exit, since
    nothing would start it again. Errors of the check itself still stop the start."""
    tries = 0
    while not stop.is_set():
        try:
            check()
            return
        except Exception as error:
            if not faults.database_fault(error):
                raise
            tries += 1
            _wait_for_database(error, tries, stop)


def _wait_for_database(error: BaseException, tries: int, stop: threading.Event) -> None:
    first = current_app.config["WORKER_RECONNECT_SECONDS"]
    delay = min(RECONNECT_MAX_SECONDS, first * 2.0 ** (tries - 1))
    log.warning("The database failed (%s); looking again in %.1f s", error, delay)
    faults.drop_session()
    stop.wait(delay)


def run_schedules(poll: float) -> float:
    """The scheduler tick: fire the schedule triggers that are due. Every loop of every
    worker ticks; the tick's row locks make each fire time fire once among them. Returns
    how long an idle worker may wait: the poll interval, or less when a schedule falls
    due sooner, so a due time does not wait for the next poll."""
    try:
        return min(poll, tick_and_wait())
    except Exception as error:  # a broken schedule must not stop the queue…
        if faults.database_fault(error):
            raise  # …but a database that went away is the loop's to wait for
        faults.drop_session()
        log.exception("The scheduler tick failed")
        return poll
    finally:
        db.session.expunge_all()


def run_claimed(claimed: list[outbox.Claimed], worker_id: str) -> None:
    """Step runs of an instance another worker is busy with wait until the rest is done:
    by then that worker has usually finished, so neither waits for the other."""
    groups = group_step_runs(claimed)
    busy = [group for group in groups if not run_group(group, worker_id, wait=False)]
    for group in busy:
        run_group(group, worker_id, wait=True)


def group_step_runs(claimed: list[outbox.Claimed]) -> list[list[outbox.Claimed]]:
    """Neighbouring step runs of one instance form one group; any other job is alone."""
    groups: list[list[outbox.Claimed]] = []
    for job in claimed:
        if groups and _same_instance_runs(groups[-1][-1], job):
            groups[-1].append(job)
        else:
            groups.append([job])
    return groups


def _same_instance_runs(one: outbox.Claimed, other: outbox.Claimed) -> bool:
    return one.kind == other.kind == STEP_RUN and one.instance_id == other.instance_id


def run_group(group: list[outbox.Claimed], worker_id: str, wait: bool) -> bool:
    """Step runs of one instance begin in one transaction (one lock of the instance, one
    commit). If that fails, nothing of it is kept and each job runs alone, so one broken
    job fails on its own. False: the instance was busy and nothing was done."""
    first = group[0]
    if first.kind != STEP_RUN:
        run_job(first, worker_id)
        return True
    with job_run(group) as outcome:
        calls = _begin_group(group, worker_id, wait, outcome)
    if calls is None:
        return False
    by_id = {job.id: job for job in group}
    for call in calls:
        origin = by_id[call.job_id].trace_context if call.job_id in by_id else None
        claimed = outbox.Claimed(call.job_id, STEP_RUN, call.instance_id, origin)
        with job_run([claimed], f"job {STEP_RUN} call") as called:
            _guarded(claimed, worker_id, functools.partial(call_out, call, worker_id), called)
    return True


def _begin_group(
    group: list[outbox.Claimed], worker_id: str, wait: bool, outcome: Outcome
) -> list[PendingCall] | None:
    """`begin_steps` for the group, its failures handled; None: the instance was busy."""
    first = group[0]
    try:
        return begin_steps([job.id for job in group], first.instance_id or 0, worker_id, wait)
    except InstanceBusy:
        outcome.result = "busy"
        return None
    except Exception as error:
        faults.drop_session()
        if faults.database_fault(error):
            outcome.result = "run again: the database failed"
            _run_again(group, worker_id, error)
            return []
        if len(group) == 1:
            outcome.result = "failed"
            _failed(first, worker_id, error)
            return []
        outcome.result = "failed together; each runs alone"
        log.warning("%d step runs failed together; running each alone", len(group), exc_info=True)
        for job in group:
            run_job(job, worker_id)
        return []
    finally:
        db.session.expunge_all()


def run_job(job: outbox.Claimed, worker_id: str) -> None:
    runner = RUNNERS.get(job.kind) or _no_runner
    with job_run([job]) as outcome:
        _guarded(job, worker_id, lambda: runner(job, worker_id), outcome)


def _no_runner(job: outbox.Claimed, worker_id: str) -> None:
    outbox.fail_attempt(job.id, worker_id, f"No runner for job kind {job.kind!r}.")


def _failed(job: outbox.Claimed, worker_id: str, error: Exception) -> None:
    log.error("Job %s (%s) failed", job.id, job.kind, exc_info=error)
    message = f"Unexpected error: {error}"
    if job.kind == STEP_RUN:
        fail_run(job.id, job.instance_id or 0, worker_id, message)
    else:
        outbox.fail_attempt(job.id, worker_id, message)


def _guarded(
    job: outbox.Claimed, worker_id: str, work: Callable[[], None], outcome: Outcome
) -> None:
    try:
        work()
    except Exception as error:  # one broken job must not stop the worker
        faults.drop_session()
        if faults.database_fault(error):
            outcome.result = "run again: the database failed"
            _run_again([job], worker_id, error)
        else:
            outcome.result = "failed"
            _failed(job, worker_id, error)
    finally:
        db.session.expunge_all()  # keep the long-lived session from growing


def _run_again(jobs: list[outbox.Claimed], worker_id: str, error: BaseException) -> None:
    """The database failed under these jobs: what they wrote was rolled back, so they are
    due again at once, with no attempt counted. If the database is still away, their
    leases keep them until it answers (and expire if this worker is gone)."""
    log.warning("Job(s) %s run again: the database failed (%s)", [j.id for j in jobs], error)
    try:
        outbox.release([job.id for job in jobs], worker_id)
    except Exception as again:
        if not faults.database_fault(again):
            raise
        faults.drop_session()


# --- the embedded worker thread -------------------------------------------------------------

_started = threading.Lock()
_thread: threading.Thread | None = None


def embedded_worker_wanted(
    enabled: bool,
    testing: bool,
    command: str | None,
    reloading: bool,
    reloader_child: bool,
    explicitly_enabled: bool,
) -> bool:
    """Start the thread in the one process that serves requests: `flask run` (its
    reloader child when reloading, never the watching parent), not under tests, and under
    another server such as gunicorn only when EMBEDDED_WORKER is set explicitly."""
    if not enabled or testing:
        return False
    if command == "run":
        return reloader_child or not reloading
    if command is None:  # imported by a WSGI server, not by the flask command
        return explicitly_enabled
    return False  # other flask commands: db upgrade, seed-demo, worker…


def start_embedded_worker(app: Flask) -> threading.Thread | None:
    global _thread
    with _started:
        if _thread is not None and _thread.is_alive():
            return _thread
        _thread = threading.Thread(
            target=_embedded_loop, args=(app,), name="matterflow-worker", daemon=True
        )
        _thread.start()
        return _thread


def _embedded_loop(app: Flask) -> None:
    worker_id = f"embedded-{default_worker_id()}"
    while True:
        try:
            with app.app_context():
                drain(worker_id, until_idle=False)
        except Exception:  # the database went away: wait and start over
            log.exception("Embedded worker stopped; restarting")
            threading.Event().wait(app.config["WORKER_POLL_SECONDS"] * 5)
