"""The worker begins the step runs of one instance together: one lock of the instance,
one transaction. Each run must still behave as if it ran alone."""

import threading
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from tests.integration.engine_support import (
    by_key,
    publish,
    reload,
    run_worker,
    start,
    states,
    step,
)
from webapp.engine.actions.echo import EchoHandler
from webapp.extensions import db
from webapp.models import Job, StepAttempt, WorkflowEvent
from webapp.models.base import utcnow
from webapp.services import automation, outbox
from webapp.worker import run_claimed


def parallel(firm: Any, name: str, keys: list[str]) -> dict[str, Any]:
    template = publish(firm.api, name, [step(key, dependsOn=[]) for key in keys])
    return start(firm.api, template, firm.matter.id)


def completions() -> int:
    return db.session.scalar(
        select(func.count()).where(WorkflowEvent.event_type == "step.complete")
    )


def test_other_runs_of_the_group_complete_when_one_job_breaks(app, firm, monkeypatch):
    template = publish(
        firm.api,
        "Wide",
        [
            step("a", dependsOn=[]),
            step("b", dependsOn=[], retry={"maxAttempts": 2, "backoffSeconds": 60}),
            step("c", dependsOn=[]),
        ],
    )
    instance = start(firm.api, template, firm.matter.id)
    run = EchoHandler.run

    def broken_for_b(self: EchoHandler, ctx: Any) -> Any:
        if ctx.step_key == "b":
            raise RuntimeError("echo b is broken")
        return run(self, ctx)

    monkeypatch.setattr(EchoHandler, "run", broken_for_b)
    assert run_worker() == 3
    after = reload(firm.api, instance["id"])
    assert states(after) == {"a": "COMPLETED", "b": "READY", "c": "COMPLETED"}
    assert completions() == 2
    job = db.session.scalar(
        select(Job).where(Job.payload["stepId"].as_integer() == by_key(after, "b")["id"])
    )
    assert (job.status, job.attempts) == ("PENDING", 1), "the failure counts as an attempt"
    assert "echo b is broken" in job.last_error

    db.session.execute(Job.__table__.update().values(run_at=utcnow()))
    db.session.commit()
    assert run_worker() == 1  # the last attempt fails the step, as any last failure does

    after = reload(firm.api, instance["id"])
    assert by_key(after, "b")["actionState"] == "FAILED"
    assert "echo b is broken" in after["stepData"]["b"]["error"]
    assert after["status"] == "Failed"
    db.session.refresh(job)
    assert (job.status, job.attempts) == ("DEAD", 2)


def test_a_group_leaves_alone_a_job_whose_lease_another_worker_took(app, firm):
    instance = parallel(firm, "Wide", ["a", "b", "c"])
    claimed = outbox.claim_jobs("w1", 10)
    assert len(claimed) == 3
    taken = claimed[1]
    db.session.execute(Job.__table__.update().where(Job.id == taken.id).values(locked_by="w2"))
    db.session.commit()
    calls = automation.begin_steps([c.id for c in claimed], instance["id"], "w1")
    assert calls == []
    db.session.commit()
    db.session.expire_all()
    after = states(reload(firm.api, instance["id"]))
    assert sorted(after.values()) == ["COMPLETED", "COMPLETED", "READY"]
    job = db.session.get(Job, taken.id)
    assert (job.status, job.locked_by, job.attempts) == ("RUNNING", "w2", 0)
    attempts = db.session.scalars(select(StepAttempt.job_id)).all()
    assert taken.id not in attempts and len(attempts) == 2


def test_each_run_of_a_group_is_recorded_as_its_own_attempt(app, firm):
    instance = parallel(firm, "Wide", [f"s{i}" for i in range(12)])
    assert run_worker() == 12
    after = reload(firm.api, instance["id"])
    assert after["status"] == "Completed"
    assert completions() == 12
    rows = db.session.execute(select(StepAttempt.step_id, StepAttempt.number)).all()
    assert sorted(rows) == sorted((s["id"], 1) for s in after["steps"])
    assert set(db.session.scalars(select(Job.status)).all()) == {"DONE"}
    assert set(db.session.scalars(select(Job.attempts)).all()) == {1}


def test_runs_of_an_instance_cost_few_statements_per_job(app, dialect, firm):
    parallel(firm, "Wide", [f"s{i}" for i in range(10)])
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert run_worker() == 10
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # One by one, a job cost 8 round trips; together, the instance is locked and loaded
    # once. SQLite, in process, writes rows one by one where PostgreSQL sends them at once.
    assert len(statements) / 10 <= (3 if dialect == "postgresql" else 6), statements


def test_a_busy_instance_waits_until_the_other_jobs_ran_when_another_worker_holds_it(
    app, dialect, firm
):
    if dialect != "postgresql":
        pytest.skip("row locks that a worker can skip are PostgreSQL's (SKIP LOCKED)")
    busy = parallel(firm, "Busy", ["a", "b"])
    free = parallel(firm, "Free", ["c", "d"])
    claimed = outbox.claim_jobs("w1", 10)
    assert [c.instance_id for c in claimed] == [busy["id"]] * 2 + [free["id"]] * 2
    holder = db.engine.connect()
    holder.execute(
        text("SELECT id FROM workflow_instances WHERE id = :id FOR UPDATE"), {"id": busy["id"]}
    )
    with pytest.raises(automation.InstanceBusy):
        automation.begin_steps([c.id for c in claimed[:2]], busy["id"], "w1", wait=False)
    release = threading.Timer(1.0, holder.rollback)
    release.start()
    try:
        run_claimed(claimed, "w1")
    finally:
        release.join()
        holder.close()
    db.session.commit()
    db.session.expire_all()
    order = db.session.scalars(
        select(WorkflowEvent.instance_id)
        .where(WorkflowEvent.event_type == "step.complete")
        .order_by(WorkflowEvent.id)
    ).all()
    assert order == [free["id"]] * 2 + [busy["id"]] * 2
    assert reload(firm.api, busy["id"])["status"] == "Completed"
