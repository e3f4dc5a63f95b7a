"""Refused requests get the right status and a clear JSON error, and change nothing: the
instance and step rows, the audit trail, the outbox and the history are as before."""

from http import HTTPStatus

import pytest

from tests.integration.engine_support import by_key, make_firm, publish, start
from tests.integration.engine_support import step as step_body
from tests.integration.support import (
    snapshot,
    step_by_key,
    three_step_template,
)
from webapp.engine.roles import Role


@pytest.fixture
def published(demo, api_as) -> dict:
    lawyer = api_as(demo.user(Role.LAWYER))
    draft = lawyer.post("/templates", json=three_step_template()).json
    return lawyer.post(f"/templates/{draft['id']}/publish").json


@pytest.fixture
def running(demo, api_as, published) -> dict:
    lawyer = api_as(demo.user(Role.LAWYER))
    body = {"matterId": demo.matter.id}
    return lawyer.post(f"/templates/{published['id']}/instantiate", json=body).json


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.json
    error = response.json["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def test_workflows_endpoint_creates_an_instance_in_created_when_posted(demo, api_as, published):
    lawyer = api_as(demo.user(Role.LAWYER))
    before = snapshot()
    response = lawyer.post(
        "/workflows",
        json={"workflowId": published["id"], "matterId": demo.matter.id, "parameters": {"a": 1}},
    )
    assert response.status_code == HTTPStatus.CREATED, response.json
    instance = response.json
    assert (instance["status"], instance["currentStep"]) == ("Created", 0)
    assert instance["context"] == {"a": 1}
    assert {s["actionState"] for s in instance["steps"]} == {"PENDING"}
    after = snapshot()
    assert len(after["instances"]) == len(before["instances"]) + 1
    assert after["events"] == before["events"] + 1  # instance.created, nothing started
    assert after["jobs"] == before["jobs"]


def test_created_instance_refuses_to_jump_to_completed_and_changes_nothing_when_asked(
    demo, api_as, published
):
    lawyer = api_as(demo.user(Role.LAWYER))
    body = {"workflowId": published["id"], "matterId": demo.matter.id}
    instance = lawyer.post("/workflows", json=body).json
    before = snapshot()

    response = lawyer.patch(f"/instances/{instance['id']}", json={"status": "Completed"})

    # Completed is never a person's to ask for, whatever the status: 400, not a conflict.
    error = assert_error(response, HTTPStatus.BAD_REQUEST, "invalid")
    assert error["message"] == "Completed is set by the engine from the steps, not by hand."
    assert error["details"]["manual"] == ["Cancelled", "Paused", "Running"]
    assert snapshot() == before


def test_completing_a_pending_step_is_refused_with_409_and_changes_nothing_when_tried(
    demo, api_as, running
):
    pending = step_by_key(running, "approval")
    assert pending["actionState"] == "PENDING"
    before = snapshot()

    response = api_as(demo.user(Role.LAWYER)).post(
        f"/steps/{pending['id']}/complete", json={"approved": True}
    )

    error = assert_error(response, HTTPStatus.CONFLICT, "invalid_transition")
    assert "PENDING" in error["message"]
    assert snapshot() == before


def test_client_completing_the_approval_is_answered_not_found_and_changes_nothing_when_tried(
    demo, api_as, running
):
    checklist = step_by_key(running, "conflicts")
    api_as(demo.user(Role.PARALEGAL)).post(
        f"/steps/{checklist['id']}/complete",
        json={"checkedItems": checklist["actionConfig"]["items"]},
    )
    approval = step_by_key(
        api_as(demo.user(Role.LAWYER)).get(f"/instances/{running['id']}").json, "approval"
    )
    assert approval["actionState"] == "READY"
    before = snapshot()

    response = api_as(demo.user(Role.CLIENT)).post(
        f"/steps/{approval['id']}/complete", json={"approved": True}
    )

    # A client sees only the steps addressed to clients: the others do not exist for them.
    assert_error(response, HTTPStatus.NOT_FOUND, "not_found")
    assert snapshot() == before


def test_paralegal_completing_the_approval_is_refused_with_403_when_not_eligible(
    demo, api_as, running
):
    checklist = step_by_key(running, "conflicts")
    paralegal = api_as(demo.user(Role.PARALEGAL))
    paralegal.post(
        f"/steps/{checklist['id']}/complete",
        json={"checkedItems": checklist["actionConfig"]["items"]},
    )
    approval = step_by_key(running, "approval")
    before = snapshot()

    response = paralegal.post(f"/steps/{approval['id']}/complete", json={"approved": True})

    error = assert_error(response, HTTPStatus.FORBIDDEN, "forbidden")
    assert "Approve engagement" in error["message"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/instances/{id}"),
        ("GET", "/instances/{id}/events"),
        ("GET", "/instances/{id}/history"),
        ("GET", "/instances/{id}/drift"),
        ("PATCH", "/instances/{id}"),
        ("POST", "/steps/{step}/complete"),
    ],
)
def test_another_firm_gets_404_and_changes_nothing_when_it_reaches_for_an_instance(
    demo, api_as, running, second_firm, method, path
):
    outsider = api_as(second_firm["lawyer"])
    before = snapshot()
    step = step_by_key(running, "conflicts")
    url = path.format(id=running["id"], step=step["id"])
    body = {"status": "Paused"} if method == "PATCH" else {"checkedItems": ["Search clients"]}

    response = outsider.request(method, url, json=body if method != "GET" else None)

    error = assert_error(response, HTTPStatus.NOT_FOUND, "not_found")
    # The message names only what was asked for: nothing about the other firm leaks.
    expected = f"Step {step['id']}" if "steps" in path else f"Workflow instance {running['id']}"
    assert error["message"] == f"{expected} was not found."
    assert snapshot() == before


def test_a_stranger_in_the_same_firm_gets_404_when_the_matter_is_not_theirs(
    demo, api_as, running, make_user
):
    stranger = api_as(make_user(demo.org, Role.LAWYER))
    response = stranger.get(f"/instances/{running['id']}")
    error = assert_error(response, HTTPStatus.NOT_FOUND, "not_found")
    assert error["message"] == f"Workflow instance {running['id']} was not found."
    listed = stranger.get("/instances").json
    assert listed == {"items": [], "total": 0}


def test_paralegal_starting_a_workflow_is_refused_with_403_when_on_the_matter(
    demo, api_as, published
):
    before = snapshot()
    response = api_as(demo.user(Role.PARALEGAL)).post(
        f"/templates/{published['id']}/instantiate", json={"matterId": demo.matter.id}
    )
    error = assert_error(response, HTTPStatus.FORBIDDEN, "forbidden")
    assert error["message"] == "Only admins and lawyers can start a workflow on a matter."
    assert snapshot() == before


def test_completing_an_automated_step_by_hand_is_refused_with_422_and_changes_nothing(
    make_org, make_user, make_matter, api_as
):
    """A schema-valid completion the step's kind cannot take (its action type decides,
    as it decides the payload): 422, like a payload that does not fit, never 400."""
    firm = make_firm(make_org, make_user, make_matter, api_as)
    template_id = publish(firm.api, "Automatic", [step_body("ping")])
    ping = by_key(start(firm.api, template_id, firm.matter.id), "ping")
    assert ping["actionState"] == "READY"  # queued for the worker, which is not running
    before = snapshot()

    response = firm.api.post(f"/steps/{ping['id']}/complete", json={})

    error = assert_error(response, HTTPStatus.UNPROCESSABLE_ENTITY, "validation_failed")
    assert error["message"] == "An automated step is completed by the worker."
    assert snapshot() == before
