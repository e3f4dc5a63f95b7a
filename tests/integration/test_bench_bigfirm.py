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


@pytest.fixture
def built(app: Flask) -> Iterator[bigfirm.Built]:
    firm = bigfirm.build(app, SCALE)
    yield firm
    with app.app_context():
        db.session.execute(text(f"DROP TABLE IF EXISTS {bigfirm.MARKER}"))
        db.session.commit()


def test_clones_match_their_prototypes_when_the_firm_is_built(
    app: Flask, built: bigfirm.Built
) -> None:
    # The build compared one clone of each stage with its prototype, column by column.
    assert built.audited >= len(bigfirm.TEMPLATES)
    with app.app_context():
        instances = db.session.scalar(select(func.count()).select_from(WorkflowInstance))
        states = dict(
            db.session.execute(
                select(InstanceStep.action_state, func.count()).group_by(InstanceStep.action_state)
            ).all()
        )
        jobs = dict(db.session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        marker = bigfirm.load_marker()
    assert instances == built.counts["workflow_instances"] + len(bigfirm.TEMPLATES)
    assert states["COMPLETED"] > 10 * (states.get("READY", 0) + states.get("IN_PROGRESS", 0))
    assert jobs["DONE"] > jobs.get("PENDING", 0)
    assert marker is not None and marker.scale == SCALE


def test_every_audit_chain_of_the_bulk_copy_verifies_when_the_firm_is_built(
    app: Flask, built: bigfirm.Built
) -> None:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["verify-audit"])
        chains = db.session.scalar(select(func.count(func.distinct(WorkflowEvent.matter_id))))
    assert result.exit_code == 0, result.output
    assert chains is not None and chains > 36  # every matter of the firm has its chain
    assert "intact" in result.output


def test_a_tampered_clone_is_told_apart_from_its_prototype(
    app: Flask, built: bigfirm.Built
) -> None:
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


def test_services_go_on_after_the_bulk_copy(app: Flask, built: bigfirm.Built) -> None:
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
    spec = bigfirm.TEMPLATES[1]
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
