"""The outbox worker: claims due jobs and runs each through the services.

`flask --app webapp worker` runs it as a process (any number, on any machine, with
PostgreSQL); `EMBEDDED_WORKER` runs it as one thread inside `flask run` (the SQLite
default). `drain()` is the loop both use."""

import logging
import os
import socket
import threading
from collections.abc import Callable

from flask import Flask, current_app

from webapp.extensions import db
from webapp.services import jobs
from webapp.services.automation import finish_parent_step, run_step_job
from webapp.services.notifications import run_notify_job
from webapp.services.progress import CHILD_FINISHED, NOTIFY_READY, STEP_RUN

log = logging.getLogger("matterflow.worker")

RUNNERS: dict[str, Callable[[jobs.Claimed, str], None]] = {
    STEP_RUN: run_step_job,
    NOTIFY_READY: run_notify_job,
    CHILD_FINISHED: finish_parent_step,
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
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    poll = app.config["WORKER_POLL_SECONDS"] if poll is None else poll
    batch = app.config["WORKER_BATCH_SIZE"]
    processed = 0
    with app.app_context():  # a fresh context: a fresh scoped session
        while not stop.is_set():
            claimed = jobs.claim_jobs(worker_id, batch)
            if not claimed:
                if until_idle:
                    break
                stop.wait(poll)
                continue
            for job in claimed:
                run_job(job, worker_id)
                processed += 1
    return processed


def run_job(job: jobs.Claimed, worker_id: str) -> None:
    runner = RUNNERS.get(job.kind)
    try:
        if runner is None:
            jobs.fail_attempt(job.id, worker_id, f"No runner for job kind {job.kind!r}.")
        else:
            runner(job, worker_id)
    except Exception as error:  # one broken job must not stop the worker
        log.exception("Job %s (%s) failed", job.id, job.kind)
        db.session.rollback()
        jobs.fail_attempt(job.id, worker_id, f"Unexpected error: {error}")
    finally:
        db.session.expunge_all()  # keep the long-lived session from growing


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
