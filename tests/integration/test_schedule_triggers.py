"""Schedule triggers under an injected clock: each due time fires once however many
workers tick, a daylight-saving change neither skips nor doubles a run, `missed` decides
what a worker that was down does, and a filter starts one workflow per selected matter."""

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.integration.engine_support import fresh, run_worker
from tests.integration.support import count
from tests.integration.test_worker_processes import ROOT, worker_env
from webapp.extensions import db
from webapp.models import Trigger, TriggerFiring, WorkflowInstance
from webapp.services.triggers.schedule import tick


def schedule_trigger(tfirm, cron, timezone="UTC", missed="skip", matter=None):
    body = {
        "name": "Matter review",
        "kind": "schedule",
        "templateKey": "intake",
        "matter": matter or {"id": tfirm.matter.id},
        "schedule": {"cron": cron, "timezone": timezone, "missed": missed},
    }
    created = tfirm.api.post("/triggers", json=body)
    assert created.status_code == 201, created.json
    return created.json


def fired_times() -> list[datetime]:
    fresh()
    return list(db.session.scalars(select(TriggerFiring.fired_at).order_by(TriggerFiring.fired_at)))


def tick_through(clock, until: datetime, step: timedelta) -> None:
    while clock.at < until:
        clock.advance(seconds=step.total_seconds())
        tick(clock.at)


def test_two_workers_ticking_together_fire_each_due_time_once(app, tfirm, clock):
    schedule_trigger(tfirm, "*/5 * * * *")
    start = clock.at

    def worker(times: list[datetime], gate: threading.Barrier) -> None:
        with app.app_context():
            for at in times:
                gate.wait(10)
                tick(at)

    # Three ticks a minute for 30 minutes, each tick by both workers at once.
    times = [start + timedelta(seconds=20 * n) for n in range(1, 91)]
    gate = threading.Barrier(2)
    workers = [threading.Thread(target=worker, args=(times, gate)) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(120)

    due = [start + timedelta(minutes=5 * n) for n in range(1, 7)]
    assert fired_times() == due
    assert count(WorkflowInstance) == 6


def test_two_worker_processes_ticking_together_fire_each_due_time_once(app, dialect, tfirm, clock):
    if dialect != "postgresql":
        pytest.skip("workers in several processes are a PostgreSQL setup (SKIP LOCKED)")
    schedule_trigger(tfirm, "*/5 * * * *")
    start = clock.at
    db.session.remove()  # the processes have connections of their own
    command = [sys.executable, "-m", "tests.integration.schedule_ticker", start.isoformat()]
    workers = [
        subprocess.Popen(
            [*command, "20", "90"],  # three ticks a minute for 30 minutes
            cwd=ROOT,
            env=worker_env(app),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready"
    outputs = [worker.communicate("go\n", timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs

    due = [start + timedelta(minutes=5 * n) for n in range(1, 7)]
    assert fired_times() == due
    assert count(WorkflowInstance) == 6
    fired = [int(output.split("fired ")[1].split()[0]) for output in outputs]
    assert sum(fired) == 6, outputs


def test_the_worker_loop_fires_a_due_schedule(app, tfirm, clock):
    created = schedule_trigger(tfirm, "0 9 * * *")
    assert created["nextFireAt"].startswith("2026-12-07T09:00:00")
    run_worker()
    assert count(WorkflowInstance) == 0
    clock.advance(hours=1, seconds=1)
    run_worker()
    instance = db.session.scalars(select(WorkflowInstance)).one()
    assert instance.trigger_type == "schedule"
    assert instance.trigger_data["scheduledFor"] == "2026-12-07T09:00:00+00:00"
    fresh()
    trigger = db.session.scalars(select(Trigger)).one()
    assert trigger.next_fire_at == datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def test_a_time_the_spring_change_skips_fires_once_just_after_the_gap(app, tfirm, clock):
    clock.at = datetime(2026, 3, 7, 5, 0, tzinfo=UTC)  # New York, midnight on the 7th
    schedule_trigger(tfirm, "30 2 * * *", "America/New_York")
    tick_through(clock, datetime(2026, 3, 9, 12, 0, tzinfo=UTC), timedelta(minutes=10))

    assert fired_times() == [
        datetime(2026, 3, 7, 7, 30, tzinfo=UTC),  # 02:30 EST
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # 02:30 never happens: 03:00 EDT
        datetime(2026, 3, 9, 6, 30, tzinfo=UTC),  # 02:30 EDT
    ]


def test_a_time_the_autumn_change_repeats_fires_once(app, tfirm, clock):
    clock.at = datetime(2026, 10, 31, 4, 0, tzinfo=UTC)  # New York, midnight on the 31st
    schedule_trigger(tfirm, "30 1 * * *", "America/New_York")
    tick_through(clock, datetime(2026, 11, 2, 12, 0, tzinfo=UTC), timedelta(minutes=10))

    assert fired_times() == [
        datetime(2026, 10, 31, 5, 30, tzinfo=UTC),  # 01:30 EDT
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # the first 01:30 (EDT); not the second
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),  # 01:30 EST
    ]


def test_missed_times_are_skipped_or_fired_once_when_the_worker_comes_back(app, tfirm, clock):
    skip = schedule_trigger(tfirm, "0 * * * *", missed="skip")
    once = schedule_trigger(tfirm, "0 * * * *", missed="fire_once")
    clock.advance(hours=3, minutes=30)  # down through 09:00, 10:00 and 11:00

    tick(clock.at)

    fresh()
    firings = db.session.scalars(select(TriggerFiring)).all()
    assert [(f.trigger_id, f.fired_at.hour, f.data["missed"]) for f in firings] == [
        (once["id"], 11, 2)
    ]
    clock.advance(minutes=30)  # 12:00: both fire as usual again
    tick(clock.at)
    fresh()
    at_noon = db.session.scalars(
        select(TriggerFiring.trigger_id).where(TriggerFiring.fired_at == clock.at)
    ).all()
    assert sorted(at_noon) == sorted([skip["id"], once["id"]])


def test_a_filter_starts_one_workflow_per_selected_open_matter(app, tfirm, clock, make_matter):
    picked = make_matter(tfirm.lawyer, reference="INT-002")
    make_matter(tfirm.lawyer, reference="LIT-001")
    closed = make_matter(tfirm.lawyer, reference="INT-003")
    closed.status = "CLOSED"
    db.session.commit()
    schedule_trigger(tfirm, "0 9 * * *", matter={"filter": 'matter.reference.startsWith("INT-")'})
    clock.advance(hours=1)

    tick(clock.at)

    fresh()
    started = db.session.scalars(select(WorkflowInstance.matter_id)).all()
    assert sorted(started) == sorted([tfirm.matter.id, picked.id])
