"""Audit rows and outbox jobs are appended at the flush or commit of the transaction that
records them, and only if it commits."""

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Job, WorkflowEvent
from webapp.persistence.journal import enqueue, record_event
from webapp.persistence.transaction import savepoint


def event_types() -> list[str]:
    return list(db.session.scalars(select(WorkflowEvent.event_type).order_by(WorkflowEvent.id)))


def test_rows_are_written_with_the_commit_and_dropped_with_a_rollback(app):
    record_event(org_id=1, event_type="kept", actor_id=None)
    enqueue("notify.step_ready", {"stepId": 1}, org_id=1, instance_id=7, dedupe_key="k1")
    db.session.commit()
    record_event(org_id=1, event_type="dropped", actor_id=None)
    enqueue("notify.step_ready", {"stepId": 2}, org_id=1, dedupe_key="k2")
    db.session.rollback()

    assert event_types() == ["kept"]
    jobs = db.session.scalars(select(Job)).all()
    assert [(j.dedupe_key, j.instance_id, j.status, j.attempts) for j in jobs] == [
        ("k1", 7, "PENDING", 0)
    ]


def test_a_savepoint_rolled_back_keeps_what_the_outer_transaction_appended(app):
    record_event(org_id=1, event_type="before", actor_id=None)
    with pytest.raises(RuntimeError), savepoint():
        record_event(org_id=1, event_type="inside", actor_id=None)
        raise RuntimeError("the nested work failed")
    record_event(org_id=1, event_type="after", actor_id=None)
    db.session.commit()

    assert event_types() == ["before", "after"]


def test_a_query_sees_the_rows_appended_before_it_as_autoflush_would(app):
    record_event(org_id=1, event_type="flushed", actor_id=None)
    with db.session.no_autoflush:
        assert event_types() == []
    assert event_types() == ["flushed"]
    db.session.rollback()
    assert event_types() == []
