"""Retention (issue 17, point 6): the worker deletes settled jobs, trigger firings, the
one-use tokens of forms and security events once they are older than their retention, a batch at a time, and
never an audit row, a job still to run or a dead letter."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from tests.integration.engine_support import run_worker
from tests.integration.trigger_support import Clock, webhook_trigger
from webapp.extensions import db
from webapp.models import FormToken, Job, SecurityEvent, TriggerFiring, WorkflowEvent
from webapp.services import retention


def count(model: type, *where: object) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def aged_rows(tfirm, clock: Clock):
    """Of each kind, three rows past their retention and one within it; beside them a
    pending job and a dead letter older than any retention."""
    now = clock()
    old_job, young_job = now - timedelta(days=15), now - timedelta(days=13)
    org = tfirm.admin.org_id
    for n, due in enumerate([old_job, old_job, old_job, young_job]):
        db.session.add(
            Job(org_id=org, kind="core.test", run_at=due, status="DONE", dedupe_key=f"d{n}")
        )
    db.session.add(Job(org_id=org, kind="core.test", run_at=old_job, status="PENDING"))
    db.session.add(Job(org_id=org, kind="core.test", run_at=old_job, status="DEAD"))
    trigger = webhook_trigger(tfirm)
    for n, fired in enumerate([91, 91, 91, 89]):
        at = now - timedelta(days=fired)
        db.session.add(
            TriggerFiring(
                org_id=org,
                trigger_id=trigger["id"],
                dedupe_key=f"delivery-{n}",
                fired_at=at,
                outcome="started",
                created_at=at,
            )
        )
    for n, made in enumerate([31, 31, 31, 29]):
        at = now - timedelta(days=made)
        db.session.add(FormToken(token=f"t{n}", user_id=tfirm.admin.id, path="/x", created_at=at))
    # The set-up's own events (its API token's first use) carry the real time, not the
    # clock's: only the test's rows stay.
    db.session.execute(delete(SecurityEvent))
    for n, made in enumerate([366, 366, 366, 364]):
        at = now - timedelta(days=made)
        db.session.add(
            SecurityEvent(org_id=org, kind="sign_in.failed", detail={"n": n}, created_at=at)
        )
    db.session.commit()


def test_a_purge_deletes_a_batch_of_what_has_aged_and_nothing_else(app, aged_rows, clock):
    audit_rows = count(WorkflowEvent)
    first = retention.purge(clock(), batch=2)
    assert (first.jobs, first.firings, first.form_tokens, first.security_events) == (2, 2, 2, 2)
    assert first.full(2)
    second = retention.purge(clock(), batch=2)
    assert (second.jobs, second.firings, second.form_tokens, second.security_events) == (1,) * 4
    assert not second.full(2)
    assert retention.purge(clock(), batch=2) == retention.Purged()
    assert count(Job, Job.status == "DONE") == 1
    assert count(Job, Job.status.in_(["PENDING", "DEAD"])) == 2
    assert [f.dedupe_key for f in db.session.scalars(select(TriggerFiring))] == ["delivery-3"]
    assert [t.token for t in db.session.scalars(select(FormToken))] == ["t3"]
    assert [e.detail for e in db.session.scalars(select(SecurityEvent))] == [{"n": 3}]
    assert count(WorkflowEvent) == audit_rows > 0


def test_a_retention_of_zero_keeps_everything(app, aged_rows, clock, monkeypatch):
    for setting in (
        "JOB_RETENTION_DAYS",
        "FIRING_RETENTION_DAYS",
        "FORM_TOKEN_RETENTION_DAYS",
        "SECURITY_EVENT_RETENTION_DAYS",
    ):
        monkeypatch.setitem(app.config, setting, 0)
    assert retention.purge(clock()) == retention.Purged()


def test_the_worker_purges_on_its_rounds_by_the_clock(app, aged_rows, clock, monkeypatch):
    monkeypatch.setattr(retention, "_next_purge", [0.0])
    monkeypatch.setitem(app.config, "RETENTION_INTERVAL_SECONDS", 3600)
    run_worker()  # the pending job runs (no runner: it fails and waits), the old rows go
    assert count(Job, Job.status == "DONE") == 1
    assert count(TriggerFiring) == 1
    assert count(FormToken) == 1
    # Within the interval the worker does not look again, however much has aged since.
    clock.advance(days=30)
    run_worker()
    assert count(TriggerFiring) == 1
