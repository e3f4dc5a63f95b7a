"""The big firm of `make bench` section (e), built tiny: its bulk rows are what the services
write, and the database goes on working through the services afterwards."""

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from bench import bigfirm
from webapp.extensions import db
from webapp.models import InstanceStep, Job, User, WorkflowEvent, WorkflowInstance
from webapp.services.instances import instantiate
from webapp.web.reads.inbox import actionable_steps

SCALE = 0.002  # 36 matters, 120 instances
# The long templates shortened: working their prototypes through the services is most of
# the build, and the bulk copy treats a 40-step template as it does a 400-step one.
TEMPLATES = (
    *bigfirm.TEMPLATES[:2],
    bigfirm.TemplateSpec("Litigation", 40, 4, 0.028, 365),
    bigfirm.TemplateSpec("Due diligence", 60, 4, 0.005, 700),
)


@pytest.fixture
def built(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[bigfirm.Built]:
    monkeypatch.setattr(bigfirm, "TEMPLATES", TEMPLATES)
    firm = bigfirm.build(app, SCALE)
    yield firm
    with app.app_context():
        db.session.execute(text(f"DROP TABLE IF EXISTS {bigfirm.MARKER}"))
        db.session.commit()


def test_the_bulk_copy_is_what_the_services_write_and_they_go_on_after_it(
    app: Flask, built: bigfirm.Built
) -> None:
    """One firm built, four checks in turn (the build is the slow part): the clones match
    their prototypes, every audit chain verifies, a tampered clone is told apart, and the
    services go on working on the copied rows."""
    clones_match_their_prototypes(app, built)
    every_audit_chain_verifies(app)
    a_tampered_clone_is_told_apart(app, built)
    services_go_on(app, built)


def clones_match_their_prototypes(app: Flask, built: bigfirm.Built) -> None:
    # The build compared one clone of each stage with its prototype, column by column.
    assert built.audited >= len(TEMPLATES)
    with app.app_context():
        instances = db.session.scalar(select(func.count()).select_from(WorkflowInstance))
        states = dict(
            db.session.execute(
                select(InstanceStep.action_state, func.count()).group_by(InstanceStep.action_state)
            ).all()
        )
        jobs = dict(db.session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        marker = bigfirm.load_marker()
    assert instances == built.counts["workflow_instances"] + len(TEMPLATES)
    assert states["COMPLETED"] > 10 * (states.get("READY", 0) + states.get("IN_PROGRESS", 0))
    assert jobs["DONE"] > jobs.get("PENDING", 0)
    assert marker is not None and marker.scale == SCALE


def every_audit_chain_verifies(app: Flask) -> None:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["verify-audit"])
        chains = db.session.scalar(select(func.count(func.distinct(WorkflowEvent.matter_id))))
    assert result.exit_code == 0, result.output
    assert chains is not None and chains > 36  # every matter of the firm has its chain
    assert "intact" in result.output


def a_tampered_clone_is_told_apart(app: Flask, built: bigfirm.Built) -> None:
    instance_id = built.instances["20"]
    with app.app_context():
        rows = {
            "workflow_instances": bigfirm.rows(
                WorkflowInstance.__table__, WorkflowInstance.id == instance_id
            ),
            "instance_steps": bigfirm.rows(
                InstanceStep.__table__, InstanceStep.instance_id == instance_id
            ),
        }
    # The clone's own rows against themselves: nothing differs.
    shot = _as_snapshot(rows)
    assert bigfirm.clone_differences(shot, _tables(rows)) == []
    rows["instance_steps"][3] = {**rows["instance_steps"][3], "action_type": "APPROVAL"}
    problems = bigfirm.clone_differences(shot, _tables(rows))
    assert problems == ["instance_steps.action_type: 'CHECKLIST' became 'APPROVAL'"]


def services_go_on(app: Flask, built: bigfirm.Built) -> None:
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == built.emails["LAWYER"]))
        instance, created = instantiate(owner, built.templates["5"], built.matters["completions"])
        assert created and instance.id > max(built.instances.values())
        heavy = db.session.get(User, built.people["heavy"])
        light = db.session.get(User, built.people["light"])
        assert len(db.session.execute(actionable_steps(heavy)).all()) > len(
            db.session.execute(actionable_steps(light)).all()
        )


def _as_snapshot(rows: dict) -> bigfirm.Snapshot:
    spec = TEMPLATES[1]
    shot = bigfirm.Snapshot.__new__(bigfirm.Snapshot)
    shot.spec, shot.stage = spec, 0.5
    shot.instance = rows["workflow_instances"][0]
    shot.steps = [dict(r) for r in rows["instance_steps"]]
    shot.events, shot.jobs, shot.changes, shot.fresh_jobs = [], [], [], {}
    return shot


def _tables(rows: dict) -> dict:
    return {
        "workflow_instances": rows["workflow_instances"],
        "instance_steps": rows["instance_steps"],
        "workflow_events": [],
        "jobs": [],
        "instance_changes": [],
    }
