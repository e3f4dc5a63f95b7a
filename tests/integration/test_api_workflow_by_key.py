"""`POST /api/v1/workflows {"workflowId": ...}` names a template by key (the latest published
version of that key in the actor's firm) or by id (a number or a string of digits)."""

from http import HTTPStatus

import pytest

from tests.integration.support import snapshot, three_step_template
from webapp.engine.roles import Role


@pytest.fixture
def versions(demo, api_as):
    """Version 1 and 2 of one key published, version 3 a draft."""
    lawyer = api_as(demo.user(Role.LAWYER))
    body = {**three_step_template("Intake flow"), "key": "intake_flow"}
    v1 = lawyer.post("/templates", json=body).json
    lawyer.post(f"/templates/{v1['id']}/publish")
    v2 = lawyer.patch(f"/templates/{v1['id']}", json={"description": "Second"}).json
    lawyer.post(f"/templates/{v2['id']}/publish")
    v3 = lawyer.patch(f"/templates/{v2['id']}", json={"description": "Third"}).json
    assert [v["version"] for v in (v1, v2, v3)] == [1, 2, 3]
    return v1, v2, v3


def test_workflow_starts_from_the_latest_published_version_when_named_by_key(
    demo, api_as, versions
):
    lawyer = api_as(demo.user(Role.LAWYER))
    response = lawyer.post(
        "/workflows", json={"workflowId": "intake_flow", "matterId": demo.matter.id}
    )
    assert response.status_code == HTTPStatus.CREATED, response.json
    assert (response.json["templateId"], response.json["templateVersion"]) == (
        versions[1]["id"],
        2,
    )
    assert response.json["status"] == "Created"


@pytest.mark.parametrize("as_text", [False, True])
def test_workflow_starts_from_that_version_when_named_by_id(demo, api_as, versions, as_text):
    lawyer = api_as(demo.user(Role.LAWYER))
    v1 = versions[0]["id"]
    response = lawyer.post(
        "/workflows",
        json={"workflowId": str(v1) if as_text else v1, "matterId": demo.matter.id},
    )
    assert response.status_code == HTTPStatus.CREATED, response.json
    assert (response.json["templateId"], response.json["templateVersion"]) == (v1, 1)


def test_unknown_key_is_not_found_in_plain_words_and_changes_nothing_when_named(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    before = snapshot()
    response = lawyer.post("/workflows", json={"workflowId": "nobody", "matterId": demo.matter.id})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json["error"]["message"] == "There is no template with the key 'nobody'."
    assert snapshot() == before


def test_key_with_only_a_draft_is_refused_in_plain_words_when_named(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    lawyer.post("/templates", json={**three_step_template(), "key": "drafted"})
    before = snapshot()
    response = lawyer.post("/workflows", json={"workflowId": "drafted", "matterId": demo.matter.id})
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json["error"]["message"] == (
        "The template 'drafted' has no published version yet: publish it before starting a "
        "workflow from it."
    )
    assert snapshot() == before


def test_key_of_another_firm_is_not_found_when_named(demo, api_as, versions, second_firm):
    outsider = api_as(second_firm["lawyer"])
    response = outsider.post(
        "/workflows",
        json={"workflowId": "intake_flow", "matterId": second_firm["matter"].id},
    )
    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("workflow_id", ["Client Onboarding", "", 0, "0", "99999999999", None, 1.5])
def test_malformed_workflow_id_is_refused_with_422_when_posted(demo, api_as, workflow_id):
    lawyer = api_as(demo.user(Role.LAWYER))
    response = lawyer.post(
        "/workflows", json={"workflowId": workflow_id, "matterId": demo.matter.id}
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, response.json
    assert response.json["error"]["details"][0]["field"].startswith("workflowId")


def test_replay_by_key_returns_the_first_instance_when_a_newer_version_was_published_since(
    demo, api_as, versions
):
    lawyer = api_as(demo.user(Role.LAWYER))
    body = {"workflowId": "intake_flow", "matterId": demo.matter.id, "requestId": "r-1"}
    first = lawyer.post("/workflows", json=body)
    lawyer.post(f"/templates/{versions[2]['id']}/publish")
    again = lawyer.post("/workflows", json=body)
    assert (first.status_code, again.status_code) == (HTTPStatus.CREATED, HTTPStatus.OK)
    assert again.json["id"] == first.json["id"]
    assert again.json["templateVersion"] == 2


def test_openapi_document_describes_a_key_or_an_id_when_read(app):
    spec = app.test_client().get("/api/openapi.json").json
    schema = spec["components"]["schemas"]["WorkflowCreateIn"]["properties"]["workflowId"]
    assert {option["type"] for option in schema["anyOf"]} == {"integer", "string"}
