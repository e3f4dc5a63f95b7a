"""Real worker processes: `flask worker` killed mid-job, two workers sharing a queue on
PostgreSQL, and the embedded worker of `flask run`."""

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.integration.engine_support import (
    HttpScript,
    by_key,
    free_port,
    fresh,
    http_server,
    publish,
    reload,
    start,
    step,
    wait_for,
)
from webapp.extensions import db
from webapp.models import Job, StepAttempt, WorkflowEvent, WorkflowInstance
from webapp.services.instances import instantiate

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2


def worker_env(app, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "WERKZEUG_"))}
    env.update(
        {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            # On PostgreSQL the app refuses the public defaults (webapp/security/secrets.py).
            "SECRET_KEY": app.config["SECRET_KEY"],
            "WEBHOOK_SECRET": app.config["WEBHOOK_SECRET"],
            "MATTERFLOW_SECRET_KEYS": ",".join(app.config["MATTERFLOW_SECRET_KEYS"]),
            "EMBEDDED_WORKER": "false",
            "NOTIFICATIONS_ENABLED": "false",
            "HTTP_ALLOW_PRIVATE": "true",
            "WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
            "WORKER_POLL_SECONDS": "0.1",
            **extra,
        }
    )
    return env


def flask(app, *args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "webapp", *args],
        cwd=ROOT,
        env=worker_env(app, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 60) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


def test_job_runs_again_after_its_lease_expires_when_the_worker_is_killed(app, firm):
    script = HttpScript(replies=[(200, '{"filed": "F-9"}')], hold=threading.Event())
    with http_server(script) as base:
        template = publish(firm.api, "E-file", [step("efile", "core.http", config={"url": base})])
        instance = start(firm.api, template, firm.matter.id)
        doomed = flask(app, "worker", "--id", "doomed")
        try:
            assert script.arrived.wait(30), "the worker never called the server"
            fresh()
            job = db.session.scalar(select(Job).where(Job.kind == "step.run"))
            assert (job.status, job.locked_by) == ("RUNNING", "doomed")
        finally:
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.wait(10)
        script.hold.set()  # later calls are answered at once
        fresh()
        assert db.session.scalar(select(Job.status).where(Job.kind == "step.run")) == "RUNNING"
        expired = wait_for(
            lambda: fresh() or db.session.scalar(select(Job.locked_until)) < datetime.now(UTC),
            timeout=LEASE_SECONDS + 5,
        )
        assert expired
        output = finish(flask(app, "worker", "--until-idle", "--id", "rescuer"))
        assert "Worker rescuer ran" in output
    fresh()
    instance = reload(firm.api, instance["id"])
    efile = by_key(instance, "efile")
    assert efile["actionState"] == "COMPLETED"
    assert instance["stepData"]["efile"]["body"] == {"filed": "F-9"}
    assert [(a["number"], a["status"], a["workerId"]) for a in efile["attempts"]] == [
        (1, "FAILED", "doomed"),
        (2, "SUCCEEDED", "rescuer"),
    ]
    assert "lease expired" in efile["attempts"][0]["error"]
    completions = db.session.scalar(
        select(func.count()).where(WorkflowEvent.event_type == "step.complete")
    )
    assert completions == 1
    assert len(script.requests) == 2  # the call itself is at least once; the completion once


def test_two_workers_run_every_job_exactly_once_when_draining_a_thousand_jobs(app, dialect, firm):
    if dialect != "postgresql":
        pytest.skip("concurrent workers on many machines are a PostgreSQL setup (SKIP LOCKED)")
    steps = [step(f"echo_{i}", dependsOn=[], config={"message": f"{i}"}) for i in range(10)]
    template = publish(firm.api, "Wide", steps)
    for _ in range(100):
        instantiate(firm.lawyer, template, firm.matter.id)
    fresh()
    assert db.session.scalar(select(func.count()).select_from(Job)) == 1000
    workers = [flask(app, "worker", "--until-idle", "--id", name) for name in ("w1", "w2")]
    outputs = [finish(worker, timeout=300) for worker in workers]
    fresh()
    assert db.session.scalar(select(func.count()).where(Job.status != "DONE")) == 0
    assert db.session.scalar(select(func.max(Job.attempts))) == 1
    attempts = db.session.execute(select(StepAttempt.step_id, StepAttempt.number)).all()
    assert len(attempts) == 1000
    assert len({step_id for step_id, _ in attempts}) == 1000
    assert {number for _, number in attempts} == {1}
    completions = db.session.scalar(
        select(func.count()).where(WorkflowEvent.event_type == "step.complete")
    )
    assert completions == 1000
    statuses = db.session.scalars(select(WorkflowInstance.status).distinct()).all()
    assert statuses == ["Completed"]
    per_worker = dict(
        db.session.execute(
            select(StepAttempt.worker_id, func.count()).group_by(StepAttempt.worker_id)
        ).all()
    )
    assert set(per_worker) == {"w1", "w2"}, outputs
    ran = [int(o.split(" ran ")[1].split()[0]) for o in outputs]
    assert sum(ran) == 1000


def test_flask_run_starts_the_embedded_worker_when_enabled(app, firm):
    template = publish(firm.api, "Embedded", [step("echo", config={"message": "hi"})])
    instance = start(firm.api, template, firm.matter.id)
    port = str(free_port())
    server = flask(app, "run", "--port", port, "--no-reload", EMBEDDED_WORKER="true")
    try:
        done = wait_for(
            lambda: fresh() or db.session.scalar(select(Job.status)) == "DONE", timeout=30
        )
    finally:
        server.terminate()
        server.wait(10)
    assert done, server.stdout.read() if server.stdout else ""
    attempt = db.session.scalar(select(StepAttempt))
    assert attempt.worker_id.startswith("embedded-")
    assert reload(firm.api, instance["id"])["status"] == "Completed"
