"""Instance lifecycle through PATCH /instances/{id}: from every status the API can reach,
every target is either carried out (each status passed is one audit event with old and
new status and the actor) or refused with an explanation, changing nothing: 400 for a
status only the engine sets (never valid), 409 for a move the current status does not
allow (a conflict with the state)."""

from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.integration.support import snapshot, step_by_key
from webapp.engine.roles import Role
from webapp.engine.states import InstanceStatus
from webapp.extensions import db
from webapp.models import WorkflowEvent

TWO_STEPS = {
    "name": "Engagement",
    "steps": [
        {
            "key": "conflicts",
            "title": "Check conflicts",
            "actionType": "CHECKLIST",
            "actionConfig": {"items": ["Search"]},
            "roleScope": "PARALEGAL",
        },
        {
            "key": "approval",
            "title": "Approve engagement",
            "actionType": "APPROVAL_LAWYER",
            "roleScope": "LAWYER",
        },
    ],
}

# (from, to) -> the statuses the instance passes through; absent pairs are refused.
CARRIED_OUT = {
    ("Created", "Running"): ["Running"],
    ("Created", "Cancelled"): ["Cancelled"],
    ("Running", "Paused"): ["Paused"],
    ("Running", "Cancelled"): ["Cancelled"],
    ("WaitingForInput", "Paused"): ["Running", "Paused"],
    ("WaitingForInput", "Cancelled"): ["Cancelled"],
    ("WaitingForApproval", "Paused"): ["Running", "Paused"],
    ("WaitingForApproval", "Cancelled"): ["Cancelled"],
    # Resuming hands the status back to the engine, which sees the checklist waiting.
    ("Paused", "Running"): ["Running", "WaitingForInput"],
    ("Paused", "Cancelled"): ["Cancelled"],
}
STATUSES = [status.value for status in InstanceStatus]
MANUAL_TARGETS = {"Running", "Paused", "Cancelled"}  # the others only the engine sets


class Workflows:
    """Instances of a two-step template, brought to any status through the API."""

    def __init__(self, demo, api_as) -> None:
        self.matter_id = demo.matter.id
        self.lawyer = api_as(demo.user(Role.LAWYER))
        self.paralegal = api_as(demo.user(Role.PARALEGAL))
        draft = self.lawyer.post("/templates", json=TWO_STEPS).json
        self.template_id = self.lawyer.post(f"/templates/{draft['id']}/publish").json["id"]

    def started(self) -> dict:
        body = {"matterId": self.matter_id}
        return self.lawyer.post(f"/templates/{self.template_id}/instantiate", json=body).json

    def in_status(self, status: str) -> dict:
        if status == "Created":
            body = {"workflowId": self.template_id, "matterId": self.matter_id}
            return self.lawyer.post("/workflows", json=body).json
        instance = self.started()
        checklist = step_by_key(instance, "conflicts")
        if status in ("Paused", "Cancelled"):
            instance = self.patch(instance, status).json
        elif status == "WaitingForInput":
            instance = self.paralegal.post(f"/steps/{checklist['id']}/claim").json
        elif status == "Failed":
            instance = self.paralegal.post(
                f"/steps/{checklist['id']}/fail", json={"reason": "Conflict found"}
            ).json
        elif status in ("WaitingForApproval", "Completed"):
            instance = self.paralegal.post(
                f"/steps/{checklist['id']}/complete", json={"checkedItems": ["Search"]}
            ).json
            if status == "Completed":
                approval = step_by_key(instance, "approval")
                instance = self.lawyer.post(
                    f"/steps/{approval['id']}/complete", json={"approved": True}
                ).json
        assert instance["status"] == status, instance
        return instance

    def patch(self, instance: dict, status: str, client=None):
        return (client or self.lawyer).patch(
            f"/instances/{instance['id']}", json={"status": status}
        )


@pytest.fixture
def workflows(demo, api_as) -> Workflows:
    return Workflows(demo, api_as)


def status_events(instance_id: int, after_id: int) -> list[tuple]:
    rows = db.session.scalars(
        select(WorkflowEvent)
        .where(
            WorkflowEvent.instance_id == instance_id,
            WorkflowEvent.event_type == "instance.status_changed",
            WorkflowEvent.id > after_id,
        )
        .order_by(WorkflowEvent.id)
    )
    return [(e.old_status, e.new_status, e.actor_id) for e in rows]


def last_event_id() -> int:
    return db.session.scalar(select(db.func.max(WorkflowEvent.id))) or 0


@pytest.mark.parametrize("source", STATUSES)
def test_status_change_is_carried_out_or_refused_with_400_or_409_when_asked_from_each_status(
    demo, workflows, source
):
    lawyer_id = demo.user(Role.LAWYER).id
    for target in STATUSES:
        instance = workflows.in_status(source)
        before, mark = snapshot(), last_event_id()

        response = workflows.patch(instance, target)

        path = CARRIED_OUT.get((source, target))
        if path is None:
            engine_only = target not in MANUAL_TARGETS
            expected_status = HTTPStatus.BAD_REQUEST if engine_only else HTTPStatus.CONFLICT
            assert response.status_code == expected_status, (target, response.json)
            error = response.json["error"]
            assert error["code"] == ("invalid" if engine_only else "invalid_transition")
            assert target in error["message"], error
            assert snapshot() == before, target
            continue
        assert response.status_code == HTTPStatus.OK, (target, response.json)
        assert response.json["status"] == path[-1]
        hops = list(zip([source, *path], path, strict=False))
        expected = [(old, new, lawyer_id) for old, new in hops]
        assert status_events(instance["id"], mark) == expected, target


def test_created_to_paused_is_refused_with_409_and_the_allowed_statuses_when_asked(workflows):
    instance = workflows.in_status("Created")
    before = snapshot()
    response = workflows.patch(instance, "Paused")
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json["error"]["message"] == (
        "Cannot move an instance from Created to Paused: "
        "allowed next statuses are Cancelled, Running."
    )
    assert response.json["error"]["details"]["allowed"] == ["Cancelled", "Running"]
    assert snapshot() == before


def test_running_instance_asked_to_run_is_refused_with_409_when_already_running(workflows):
    instance = workflows.in_status("Running")
    before = snapshot()
    response = workflows.patch(instance, "Running")
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json["error"]["message"] == "This workflow is already Running."
    assert snapshot() == before


def test_running_to_completed_is_refused_as_the_engines_job_when_asked(workflows):
    instance = workflows.in_status("Running")
    response = workflows.patch(instance, "Completed")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "set by the engine" in response.json["error"]["message"]


def test_created_instance_starts_at_step_one_when_set_running(workflows):
    instance = workflows.in_status("Created")
    started = workflows.patch(instance, "Running").json
    assert (started["status"], started["currentStep"]) == ("Running", 1)
    assert [s["actionState"] for s in started["steps"]] == ["READY", "PENDING"]


def test_paused_instance_refuses_step_work_with_409_until_resumed_when_a_step_is_completed(
    workflows,
):
    instance = workflows.in_status("Paused")
    checklist = step_by_key(instance, "conflicts")
    assert checklist["actionState"] == "READY"
    before = snapshot()

    refused = workflows.paralegal.post(
        f"/steps/{checklist['id']}/complete", json={"checkedItems": ["Search"]}
    )

    assert refused.status_code == HTTPStatus.CONFLICT
    assert refused.json["error"]["message"] == (
        "This workflow accepts no step changes: it is paused; resume it first."
    )
    assert refused.json["error"]["details"] == {"instanceStatus": "Paused"}
    assert snapshot() == before

    assert workflows.patch(instance, "Running").status_code == HTTPStatus.OK
    done = workflows.paralegal.post(
        f"/steps/{checklist['id']}/complete", json={"checkedItems": ["Search"]}
    )
    assert done.status_code == HTTPStatus.OK, done.json
    assert step_by_key(done.json, "conflicts")["actionState"] == "COMPLETED"
    assert done.json["status"] == "WaitingForApproval"


ACTION_BODIES = {
    "claim": None,
    "complete": {"checkedItems": ["Search"]},
    "fail": {"reason": "Conflict found"},
    "skip": {},
}


@pytest.mark.parametrize("action", list(ACTION_BODIES))
def test_cancelled_instance_refuses_every_step_action_with_409_when_tried(
    demo, api_as, workflows, action
):
    instance = workflows.in_status("Cancelled")
    checklist = step_by_key(instance, "conflicts")
    client = api_as(demo.user(Role.ADMIN)) if action == "skip" else workflows.paralegal
    before = snapshot()

    response = client.post(f"/steps/{checklist['id']}/{action}", json=ACTION_BODIES[action])

    assert response.status_code == HTTPStatus.CONFLICT, response.json
    assert "it was cancelled" in response.json["error"]["message"]
    assert snapshot() == before


@pytest.mark.parametrize("role", [Role.PARALEGAL, Role.CLIENT])
def test_status_change_is_refused_with_403_when_asked_by_someone_who_may_not_edit(
    demo, api_as, workflows, role
):
    instance = workflows.in_status("Running")
    before = snapshot()
    response = workflows.patch(instance, "Paused", client=api_as(demo.user(role)))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot() == before


def test_admin_may_pause_a_matters_workflow_when_not_its_owner(demo, api_as, workflows):
    instance = workflows.in_status("Running")
    response = workflows.patch(instance, "Paused", client=api_as(demo.user(Role.ADMIN)))
    assert response.status_code == HTTPStatus.OK
    assert status_events(instance["id"], 0)[-1] == ("Running", "Paused", demo.user(Role.ADMIN).id)


def test_rename_and_refused_status_change_keep_the_old_title_when_sent_together(workflows):
    instance = workflows.in_status("Running")
    before = snapshot()
    response = workflows.lawyer.patch(
        f"/instances/{instance['id']}", json={"title": "Renamed", "status": "Completed"}
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert snapshot() == before


def test_unknown_status_is_refused_with_the_list_of_statuses_when_asked(workflows):
    instance = workflows.in_status("Running")
    response = workflows.patch(instance, "Sleeping")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Unknown status 'Sleeping'" in response.json["error"]["message"]
    assert "WaitingForApproval" in response.json["error"]["message"]


def test_pause_reason_is_kept_in_the_audit_event_when_given(workflows):
    instance = workflows.in_status("Running")
    response = workflows.lawyer.patch(
        f"/instances/{instance['id']}", json={"status": "Paused", "reason": "Client on holiday"}
    )
    assert response.status_code == HTTPStatus.OK
    event = db.session.scalar(
        select(WorkflowEvent)
        .where(WorkflowEvent.new_status == "Paused")
        .order_by(WorkflowEvent.id.desc())
    )
    assert event.payload == {"reason": "Client on holiday"}
