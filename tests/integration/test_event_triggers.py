"""Event triggers: the event is written to the outbox in the transaction that caused it
and fired by the worker after the commit. A change that rolls back fires nothing, a
redelivered event fires once, and a workflow whose completion starts itself stops."""

import io

import pytest
from sqlalchemy import event, select, update

from tests.integration.engine_support import fresh, publish, run_worker, step
from tests.integration.support import PDF, count
from webapp.engine.errors import Conflict
from webapp.extensions import db
from webapp.models import Job, Matter, MatterMember, TriggerFiring, WorkflowInstance
from webapp.persistence.transaction import transactional
from webapp.services import matters, steps
from webapp.services.events import EVENT_JOB


def event_trigger(tfirm, event_type, template_key="intake", **fields):
    body = {
        "name": f"On {event_type}",
        "kind": "event",
        "templateKey": template_key,
        "event": {"type": event_type},
        **fields,
    }
    created = tfirm.api.post("/triggers", json=body)
    assert created.status_code == 201, created.json
    return created.json


def test_a_new_matter_starts_the_intake_workflow_on_it(app, tfirm, clock):
    event_trigger(tfirm, "matter.created")
    opened = tfirm.api.post(
        "/matters", json={"reference": "NEW-1", "title": "New client", "ownerId": tfirm.lawyer.id}
    )
    assert opened.status_code == 201, opened.json
    assert count(WorkflowInstance) == 0  # nothing before the worker runs: after the commit

    run_worker()

    instance = db.session.scalars(select(WorkflowInstance)).one()
    assert instance.matter_id == opened.json["id"]
    assert instance.trigger_type == "event"
    assert instance.trigger_data["type"] == "matter.created"
    assert instance.trigger_data["reference"] == "NEW-1"


def test_a_matter_creation_that_rolls_back_starts_nothing(app, tfirm, clock):
    event_trigger(tfirm, "matter.created")

    @transactional
    def open_then_fail() -> None:
        matters.perform(tfirm.admin, None, matters.Create("GONE-1", "Never", tfirm.lawyer.id))
        raise Conflict("Something else went wrong in the same change.")

    with pytest.raises(Conflict):
        open_then_fail()
    run_worker()

    assert count(Matter, Matter.reference == "GONE-1") == 0
    assert count(Job, Job.kind == EVENT_JOB) == 0
    assert count(WorkflowInstance) == 0


def test_a_redelivered_event_fires_each_trigger_once(app, tfirm, clock):
    event_trigger(tfirm, "matter.created")
    event_trigger(tfirm, "matter.created", condition='trigger.data.reference == "NEW-2"')
    tfirm.api.post(
        "/matters", json={"reference": "NEW-2", "title": "Twice", "ownerId": tfirm.lawyer.id}
    )
    run_worker()
    # As if the worker's lease had expired after it fired: the event is delivered again.
    db.session.execute(update(Job).where(Job.kind == EVENT_JOB).values(status="PENDING"))
    db.session.commit()
    run_worker()

    assert count(TriggerFiring) == 2
    assert count(WorkflowInstance) == 2


def test_a_condition_filters_an_event_and_the_firing_says_so(app, tfirm, clock):
    trigger = event_trigger(tfirm, "matter.status_changed", condition='trigger.data.to == "CLOSED"')
    tfirm.api.patch(f"/matters/{tfirm.matter.id}", json={"status": "ARCHIVED"})
    run_worker()
    firings = tfirm.api.get(f"/triggers/{trigger['id']}/firings").json["items"]
    assert [f["outcome"] for f in firings] == ["filtered"]
    assert count(WorkflowInstance) == 0


def test_a_workflow_whose_completion_starts_itself_stops_at_the_depth_limit(app, tfirm, clock):
    publish(tfirm.api, "Loop", [step("only")], key="loop")
    trigger = event_trigger(tfirm, "instance.completed", template_key="loop")
    tfirm.api.post("/workflows", json={"workflowId": "loop", "matterId": tfirm.matter.id})
    first = db.session.scalars(select(WorkflowInstance)).one()
    tfirm.api.patch(f"/instances/{first.id}", json={"status": "Running"})

    for _ in range(8):
        run_worker()

    # The manual run, then three started by events (depth 0, 1, 2); the fourth is stopped.
    assert count(WorkflowInstance) == 4
    firings = tfirm.api.get(f"/triggers/{trigger['id']}/firings").json["items"]
    assert [f["outcome"] for f in firings] == ["failed", "started", "started", "started"]
    assert "Stopped a loop" in firings[0]["reason"]


def test_a_step_completion_writes_one_event_only_when_a_trigger_listens(app, tfirm, clock):
    checklist = [step("tick", "CHECKLIST", config={"items": ["done"]}, roleScope="ADMIN")]
    template = publish(tfirm.api, "Ticks", checklist, key="ticks")

    def complete_one() -> list[str]:
        started = tfirm.api.post(
            f"/templates/{template}/instantiate", json={"matterId": tfirm.matter.id}
        )
        step_id = started.json["steps"][0]["id"]
        fresh()
        statements: list[str] = []

        def record(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            steps.perform(tfirm.admin, step_id, steps.Complete({"checkedItems": ["done"]}))
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return statements

    complete_one()  # warms the per-process caches (graph, listeners)
    quiet = complete_one()
    event_trigger(tfirm, "step.completed")
    complete_one()
    heard = complete_one()

    assert not any("FROM triggers" in s for s in quiet)  # nothing listens: no statement
    assert len(heard) <= len(quiet) + 1
    fresh()
    assert count(Job, Job.kind == EVENT_JOB) == 2


def test_an_upload_that_completes_a_document_request_fires_document_uploaded(
    app, tfirm, clock, make_user, api_as
):
    client = make_user(tfirm.admin.org, "CLIENT")
    db.session.add(MatterMember(matter_id=tfirm.matter.id, user_id=client.id, role="CLIENT"))
    db.session.commit()
    request_doc = step(
        "identity",
        "REQUEST_DOC_CLIENT",
        config={"requestText": "Passport", "acceptedTypes": ["pdf"]},
        roleScope="CLIENT",
    )
    template = publish(tfirm.api, "Identity", [request_doc], key="identity")
    event_trigger(tfirm, "document.uploaded", condition='trigger.data.name.endsWith(".pdf")')
    started = tfirm.api.post(
        f"/templates/{template}/instantiate", json={"matterId": tfirm.matter.id}
    )
    step_id = started.json["steps"][0]["id"]

    uploaded = api_as(client).post(
        f"/steps/{step_id}/complete",
        data={"file": [(io.BytesIO(PDF), "passport.pdf")]},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 200, uploaded.json
    run_worker()

    fired = db.session.scalars(
        select(WorkflowInstance).where(WorkflowInstance.trigger_type == "event")
    ).one()
    assert fired.trigger_data["type"] == "document.uploaded"
    assert fired.trigger_data["name"] == "passport.pdf"
    assert fired.trigger_data["stepId"] == step_id
