"""Matter lifecycle: each matter carries its workflows' status; closing, archiving and
reopening leave the workflows untouched; deleting (admins only) removes the workflows and
keeps the audit trail and the change history. Each change is one audit event."""

import io
from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.integration.support import (
    PDF,
    count,
    snapshot,
    step_by_key,
)
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import (
    Document,
    InstanceChange,
    InstanceStep,
    Matter,
    WorkflowEvent,
    WorkflowInstance,
)


@pytest.fixture
def lawyer(demo, api_as):
    return api_as(demo.user(Role.LAWYER))


def matter_events(matter_id: int) -> list[tuple]:
    rows = db.session.scalars(
        select(WorkflowEvent)
        .where(WorkflowEvent.matter_id == matter_id, WorkflowEvent.event_type.like("matter.%"))
        .order_by(WorkflowEvent.id)
    )
    return [(e.event_type, e.actor_id, e.old_status, e.new_status) for e in rows]


def start_onboarding(lawyer, demo, title: str) -> dict:
    """Another run of the demo's onboarding template on DEMO-001."""
    first = lawyer.get("/instances").json["items"][-1]
    return lawyer.post(
        f"/templates/{first['templateId']}/instantiate",
        json={"matterId": demo.matter.id, "title": title},
    ).json


def test_matter_carries_its_workflows_status_when_listed_or_read(demo, lawyer):
    listed = lawyer.get("/matters").json["items"]
    assert listed[0]["workflowStatus"] == {
        "summary": "Running",
        "total": 1,
        "counts": {"Running": 1},
    }
    paused = start_onboarding(lawyer, demo, "Second")
    lawyer.patch(f"/instances/{paused['id']}", json={"status": "Paused"})
    status = lawyer.get(f"/matters/{demo.matter.id}").json["workflowStatus"]
    assert status == {"summary": "Paused", "total": 2, "counts": {"Running": 1, "Paused": 1}}

    new = lawyer.post("/matters", json={"reference": "EMPTY-1", "title": "No workflows"}).json
    assert new["workflowStatus"] == {"summary": None, "total": 0, "counts": {}}


def test_failed_workflow_outranks_the_others_when_the_matter_is_summed_up(demo, lawyer, api_as):
    failing = start_onboarding(lawyer, demo, "Will fail")
    checklist = step_by_key(failing, "conflict_check")
    response = api_as(demo.user(Role.PARALEGAL)).post(
        f"/steps/{checklist['id']}/fail", json={"reason": "Conflict found"}
    )
    assert response.json["status"] == "Failed"
    status = lawyer.get("/matters").json["items"][0]["workflowStatus"]
    assert status == {"summary": "Failed", "total": 2, "counts": {"Running": 1, "Failed": 1}}


@pytest.mark.parametrize("target", ["CLOSED", "ARCHIVED"])
def test_closing_or_archiving_leaves_the_workflows_untouched_when_the_owner_does_it(
    demo, lawyer, target
):
    before = snapshot()
    response = lawyer.patch(f"/matters/{demo.matter.id}", json={"status": target})
    assert response.status_code == HTTPStatus.OK, response.json
    assert response.json["status"] == target
    assert response.json["workflowStatus"]["counts"] == {"Running": 1}
    after = snapshot()
    assert (after["instances"], after["steps"]) == (before["instances"], before["steps"])
    assert matter_events(demo.matter.id)[-1] == (
        "matter.status_changed",
        demo.user(Role.LAWYER).id,
        "OPEN",
        target,
    )
    assert after["events"] == before["events"] + 1


def test_closed_matter_refuses_new_workflows_until_reopened_when_one_is_started(demo, lawyer):
    lawyer.patch(f"/matters/{demo.matter.id}", json={"status": "CLOSED"})
    before = snapshot()
    [instance] = lawyer.get("/instances").json["items"]
    body = {"matterId": demo.matter.id}
    refused = lawyer.post(f"/templates/{instance['templateId']}/instantiate", json=body)
    assert refused.status_code == HTTPStatus.CONFLICT
    assert "closed; reopen it first" in refused.json["error"]["message"]
    assert snapshot() == before

    reopened = lawyer.patch(f"/matters/{demo.matter.id}", json={"status": "OPEN"})
    assert reopened.json["status"] == "OPEN"
    started = lawyer.post(f"/templates/{instance['templateId']}/instantiate", json=body)
    assert started.status_code == HTTPStatus.CREATED


def test_matter_rename_is_one_audit_event_and_a_repeat_changes_nothing_when_patched(demo, lawyer):
    response = lawyer.patch(f"/matters/{demo.matter.id}", json={"title": "Acme v. Widget (2)"})
    assert response.json["title"] == "Acme v. Widget (2)"
    event = db.session.scalars(
        select(WorkflowEvent).where(WorkflowEvent.event_type == "matter.renamed")
    ).one()
    assert event.payload["title"] == {"from": "Acme Corp v. Widget Ltd", "to": "Acme v. Widget (2)"}
    before = snapshot()
    lawyer.patch(
        f"/matters/{demo.matter.id}", json={"title": "Acme v. Widget (2)", "status": "OPEN"}
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "DELETED"}, HTTPStatus.UNPROCESSABLE_ENTITY),
        ({"title": ""}, HTTPStatus.UNPROCESSABLE_ENTITY),
        ({"title": "   "}, HTTPStatus.BAD_REQUEST),
        ({}, HTTPStatus.UNPROCESSABLE_ENTITY),  # the document: minProperties 1
    ],
)
def test_matter_patch_is_refused_and_changes_nothing_when_the_body_is_bad(
    demo, lawyer, body, status
):
    before = snapshot()
    response = lawyer.patch(f"/matters/{demo.matter.id}", json=body)
    assert response.status_code == status, response.json
    assert snapshot() == before


@pytest.mark.parametrize("role", [Role.PARALEGAL, Role.CLIENT])
def test_matter_patch_is_refused_with_403_when_sent_by_a_member_who_is_not_the_owner(
    demo, api_as, role
):
    before = snapshot()
    response = api_as(demo.user(role)).patch(
        f"/matters/{demo.matter.id}", json={"status": "CLOSED"}
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot() == before


def test_deleting_a_matter_removes_its_workflows_and_keeps_the_audit_trail_when_an_admin_does_it(
    demo, lawyer, api_as
):
    request_doc = {
        "name": "ID",
        "steps": [
            {
                "title": "Upload ID",
                "actionType": "REQUEST_DOC_CLIENT",
                "actionConfig": {"requestText": "Passport"},
                "roleScope": "CLIENT",
            }
        ],
    }
    template = lawyer.post("/templates", json=request_doc).json
    lawyer.post(f"/templates/{template['id']}/publish")
    upload_flow = lawyer.post(
        f"/templates/{template['id']}/instantiate", json={"matterId": demo.matter.id}
    ).json
    uploaded = api_as(demo.user(Role.CLIENT)).post(
        f"/steps/{upload_flow['steps'][0]['id']}/complete",
        data={"file": (io.BytesIO(PDF), "passport.pdf")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == HTTPStatus.OK
    instance_ids = sorted(db.session.scalars(select(WorkflowInstance.id)))
    assert len(instance_ids) == 2
    events_before, changes_before = count(WorkflowEvent), count(InstanceChange)
    trail = WorkflowEvent.instance_id.in_(instance_ids)
    trail_before = count(WorkflowEvent, trail)

    response = api_as(demo.user(Role.ADMIN)).delete(f"/matters/{demo.matter.id}")

    assert response.status_code == HTTPStatus.OK, response.json
    assert response.json == {
        "id": demo.matter.id,
        "reference": "DEMO-001",
        "instancesRemoved": instance_ids,
    }
    assert (count(Matter), count(WorkflowInstance), count(InstanceStep), count(Document)) == (
        0,
        0,
        0,
        0,
    )
    assert count(InstanceChange) == changes_before
    assert count(WorkflowEvent) == events_before + 1
    deleted = db.session.scalars(
        select(WorkflowEvent).where(WorkflowEvent.event_type == "matter.deleted")
    ).one()
    assert (deleted.actor_id, deleted.matter_id) == (demo.user(Role.ADMIN).id, demo.matter.id)
    assert deleted.payload["instanceIds"] == instance_ids
    assert count(WorkflowEvent, trail) == trail_before > 0
    gone = lawyer.get(f"/matters/{demo.matter.id}")
    assert gone.status_code == HTTPStatus.NOT_FOUND
    assert lawyer.get(f"/instances/{instance_ids[0]}").status_code == HTTPStatus.NOT_FOUND


def test_deleting_a_matter_is_refused_with_403_when_the_owner_is_not_an_admin(demo, lawyer):
    before = snapshot()
    response = lawyer.delete(f"/matters/{demo.matter.id}")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json["error"]["message"] == "Only an admin can delete a matter."
    assert snapshot() == before


def test_deleting_a_matter_is_refused_with_404_when_the_admin_is_of_another_firm(
    demo, api_as, make_user, second_firm
):
    outsider = api_as(make_user(second_firm["org"], Role.ADMIN))
    before = snapshot()
    response = outsider.delete(f"/matters/{demo.matter.id}")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert snapshot() == before
