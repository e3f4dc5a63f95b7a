"""Readiness (issue 17, point 4): `/health/ready` is ready only while the database answers,
its schema is at this code's newest migration and a worker has been seen within
WORKER_HEARTBEAT_MAX_AGE; otherwise 503 naming what is not. Workers' heartbeats move with
the injected clock."""

from http import HTTPStatus

import pytest
from sqlalchemy import select, text

from tests.integration.engine_support import run_worker
from tests.integration.trigger_support import Clock
from webapp.extensions import db
from webapp.models import WorkerHeartbeat
from webapp.web.health import code_revision


@pytest.fixture
def probe(app, clock: Clock):
    client = app.test_client()
    return lambda: client.get("/health/ready")


def test_not_ready_until_a_worker_has_been_seen(probe):
    response = probe()
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    checks = response.json["checks"]
    assert response.json["status"] == "not_ready"
    assert checks["database"] == {"ok": True}
    assert checks["migrations"]["ok"] is True
    assert checks["migrations"]["database"] == checks["migrations"]["code"] == code_revision()
    assert checks["worker"] == {
        "ok": False,
        "alive": 0,
        "lastSeenSeconds": None,
        "maxAgeSeconds": 60,
    }


def test_ready_while_a_worker_beats_and_not_once_it_falls_silent(probe, clock: Clock):
    run_worker("worker-a")
    beat = db.session.scalar(select(WorkerHeartbeat))
    assert (beat.worker_id, beat.seen_at) == ("worker-a", clock())
    ready = probe()
    assert ready.status_code == HTTPStatus.OK
    assert ready.json["status"] == "ready"
    assert ready.json["checks"]["worker"]["alive"] == 1
    clock.advance(seconds=61)
    silent = probe()
    assert silent.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert silent.json["checks"]["worker"] == {
        "ok": False,
        "alive": 0,
        "lastSeenSeconds": 61.0,
        "maxAgeSeconds": 60,
    }


def test_a_worker_gone_for_a_day_is_forgotten_when_another_beats(app, clock: Clock):
    run_worker("worker-a")
    clock.advance(days=1, seconds=1)
    run_worker("worker-b")
    db.session.expire_all()
    assert list(db.session.scalars(select(WorkerHeartbeat.worker_id))) == ["worker-b"]


def test_a_schema_behind_the_code_is_not_ready(app, probe, monkeypatch):
    run_worker()
    monkeypatch.setitem(app.config, "WORKER_HEARTBEAT_MAX_AGE", 0)  # no worker asked for
    db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.session.commit()
    try:
        response = probe()
    finally:
        db.session.execute(
            text("UPDATE alembic_version SET version_num = :head"), {"head": code_revision()}
        )
        db.session.commit()
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json["checks"]["migrations"] == {
        "ok": False,
        "database": "0001",
        "code": code_revision(),
    }
    assert response.json["checks"]["worker"] == {"ok": True, "required": False}
