"""(f) Triggers: signed webhook firings per second over HTTP (gunicorn, distinct
deliveries, each starting a workflow), and the delay from a due cron time to its instance
with a real `flask worker` process at the default poll interval (1 s).

The cron figure waits for the next whole minute: CRON_TRIGGERS schedule triggers, each
`* * * * *` on the bench matter, fall due at once, and each one's delay is the time from
its due minute to its instance's creation."""

import http.client
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from bench import seed
from bench.databases import Database, server_environment
from bench.server import HOST, ROOT, gunicorn
from bench.stats import Summary, percentile, summarize
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import TriggerFiring, User, WorkflowInstance
from webapp.services import triggers
from webapp.services.templates import create_template, publish_template
from webapp.services.triggers.hooks import DELIVERY_HEADER, SIGNATURE_HEADER, signature

CLIENT_THREADS = 4
CRON_TRIGGERS = 20
CRON_TIMEOUT = 90  # seconds: the next whole minute, plus the worker's start


@dataclass
class HookRun:
    sent: int
    accepted: int  # 202 with outcome "started"
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "accepted": self.accepted,
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
            "p99_ms": round(percentile(self.latencies_ms, 0.99), 1),
        }


@dataclass
class TriggerResult:
    database: str
    runs: list[HookRun] = field(default_factory=list)
    firings_in_database: int = 0
    cron_delays: list[float] = field(default_factory=list)  # seconds
    cron_error: str | None = None

    @property
    def rate(self) -> Summary:
        return summarize([run.rate for run in self.runs])

    @property
    def hook_p99_ms(self) -> float:
        return percentile([ms for run in self.runs for ms in run.latencies_ms], 0.99)

    @property
    def cron_p99(self) -> float:
        return percentile(self.cron_delays, 0.99)

    @property
    def lost(self) -> int:
        """Accepted deliveries without a firing, or firings without an accepted delivery."""
        return abs(sum(run.accepted for run in self.runs) - self.firings_in_database)

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "webhook_firings_per_second": self.rate.as_dict(),
            "webhook_p99_ms": round(self.hook_p99_ms, 1),
            "firings_in_database": self.firings_in_database,
            "lost": self.lost,
            "cron_delay_seconds": {
                "samples": len(self.cron_delays),
                "p50": round(percentile(self.cron_delays, 0.5), 3),
                "p99": round(self.cron_p99, 3),
                "max": round(max(self.cron_delays), 3) if self.cron_delays else None,
            },
            "cron_error": self.cron_error,
            "runs": [run.as_dict() for run in self.runs],
        }


def _setup(firm: seed.Firm) -> tuple[int, str]:
    """A one-step template and a webhook trigger that starts it on the bench matter."""
    admin = db.session.scalar(
        select(User).where(User.org_id == firm.org_id, User.role == Role.ADMIN)
    )
    step = StepDefinition(
        key="review",
        title="Review the intake",
        action_type="CHECKLIST",
        action_config={"items": seed.CHECKLIST_ITEMS},
        role_scope=Role.LAWYER,
    )
    template = create_template(admin, "Intake", [step], key="intake")
    publish_template(admin, template.id)
    definition = triggers.Definition(
        name="Bench intake", kind="webhook", template_key="intake", matter={"id": firm.matter_id}
    )
    changed = triggers.perform(admin, None, triggers.Create(definition))
    assert changed.trigger is not None and changed.secret is not None
    return changed.trigger.id, changed.secret


def _deliver(
    port: int, trigger_id: int, secret: str, deliveries: list[str], out: list[tuple[int, float]]
) -> None:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    for delivery in deliveries:
        body = json.dumps({"client": delivery, "parameters": {"source": "bench"}}).encode()
        headers = {
            SIGNATURE_HEADER: signature(secret, body, int(time.time())),
            DELIVERY_HEADER: delivery,
            "Content-Type": "application/json",
        }
        began = time.perf_counter()
        connection.request("POST", f"/api/v1/hooks/{trigger_id}", body, headers)
        response = connection.getresponse()
        answer = json.loads(response.read() or b"{}")
        elapsed = (time.perf_counter() - began) * 1000
        started = response.status == 202 and answer.get("outcome") == "started"
        out.append((1 if started else 0, elapsed))
    connection.close()


def _hook_run(port: int, trigger_id: int, secret: str, run: int, seconds: float) -> HookRun:
    """Client threads send distinct signed deliveries for `seconds`, in batches."""
    results: list[tuple[int, float]] = []
    began = time.monotonic()
    batch = 0
    while time.monotonic() - began < seconds:
        threads = [
            threading.Thread(
                target=_deliver,
                args=(
                    port,
                    trigger_id,
                    secret,
                    [f"r{run}-b{batch}-t{n}-{i}" for i in range(10)],
                    results,
                ),
            )
            for n in range(CLIENT_THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        batch += 1
    elapsed = time.monotonic() - began
    return HookRun(len(results), sum(ok for ok, _ in results), elapsed, [ms for _, ms in results])


def _cron_delays(app: Flask, database: Database, firm: seed.Firm) -> list[float]:
    with app.app_context():
        admin = db.session.scalar(
            select(User).where(User.org_id == firm.org_id, User.role == Role.ADMIN)
        )
        for n in range(CRON_TRIGGERS):
            definition = triggers.Definition(
                name=f"Every minute {n}",
                kind="schedule",
                template_key="intake",
                matter={"id": firm.matter_id},
                schedule={"cron": "* * * * *", "timezone": "UTC", "missed": "skip"},
            )
            triggers.perform(admin, None, triggers.Create(definition))
        db.session.remove()
    env = server_environment(database)
    env.pop("WORKER_POLL_SECONDS", None)  # the default poll interval is what is measured
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "webapp", "worker", "--id", "bench-cron"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + CRON_TIMEOUT
        while time.monotonic() < deadline:
            time.sleep(1)
            with app.app_context():
                started = db.session.scalar(
                    select(func.count())
                    .select_from(WorkflowInstance)
                    .where(WorkflowInstance.trigger_type == "schedule")
                )
                db.session.remove()
            if started and started >= CRON_TRIGGERS:
                break
    finally:
        worker.terminate()
        worker.wait(15)
    with app.app_context():
        rows = db.session.execute(
            select(WorkflowInstance.created_at, WorkflowInstance.trigger_data).where(
                WorkflowInstance.trigger_type == "schedule"
            )
        ).all()
        db.session.remove()
    return [
        (created - datetime.fromisoformat(data["scheduledFor"]).astimezone(UTC)).total_seconds()
        for created, data in rows
    ]


def bench_triggers(
    app: Flask, database: Database, firm: seed.Firm, runs: int, seconds: float
) -> TriggerResult:
    with app.app_context():
        trigger_id, secret = _setup(firm)
        db.session.remove()
        db.engine.dispose()
    result = TriggerResult(database.label)
    with gunicorn("webapp:create_app()", server_environment(database)) as server:
        _hook_run(server.port, trigger_id, secret, 0, min(seconds, 1.0))  # warm-up
        with app.app_context():
            warm = db.session.scalar(select(func.count()).select_from(TriggerFiring))
            db.session.remove()
        for run in range(1, runs + 1):
            result.runs.append(_hook_run(server.port, trigger_id, secret, run, seconds))
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(TriggerFiring)) or 0
        result.firings_in_database = total - (warm or 0)
        db.session.remove()
    try:
        result.cron_delays = _cron_delays(app, database, firm)
    except Exception as error:  # the webhook figure stands on its own
        result.cron_error = f"{type(error).__name__}: {error}"
    return result
