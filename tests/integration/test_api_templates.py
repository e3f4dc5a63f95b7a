"""Templates through the API: search, versions, archive, and export/import round trips."""

import json
from http import HTTPStatus

import pytest
import yaml

from tests.integration.support import (
    snapshot,
    three_step_template,
)
from webapp.engine.roles import Role

STEP_FIELDS = ("key", "title", "actionType", "actionConfig", "roleScope", "required", "dependsOn")


@pytest.fixture
def lawyer(demo, api_as):
    return api_as(demo.user(Role.LAWYER))


def create(lawyer, name: str, description: str = "") -> dict:
    body = {**three_step_template(name), "description": description}
    response = lawyer.post("/templates", json=body)
    assert response.status_code == HTTPStatus.CREATED, response.json
    return response.json


def test_template_search_matches_name_key_or_description_when_q_is_given(lawyer):
    create(lawyer, "Litigation hold", "Preserve documents")
    create(lawyer, "Share purchase", "Due diligence for a SHARE deal")

    def names(q: str) -> list[str]:
        response = lawyer.get("/templates", query_string={"q": q})
        assert response.status_code == HTTPStatus.OK
        assert response.json["total"] == len(response.json["items"])
        return [t["name"] for t in response.json["items"]]

    assert names("HOLD") == ["Litigation hold"]
    assert names("share_purchase") == ["Share purchase"]
    assert names("diligence") == ["Share purchase"]
    assert names("on") == ["Client onboarding", "Litigation hold", "New matter onboarding"]
    assert names("nothing like it") == []


def test_template_list_shows_the_latest_version_unless_all_versions_are_asked_for(lawyer):
    v1 = create(lawyer, "Litigation hold")
    lawyer.post(f"/templates/{v1['id']}/publish")
    v2 = lawyer.patch(f"/templates/{v1['id']}", json={"description": "v2"}).json
    lawyer.post(f"/templates/{v2['id']}/publish")

    latest = lawyer.get("/templates", query_string={"q": "hold"}).json["items"]
    assert [(t["version"], t["status"]) for t in latest] == [(2, "PUBLISHED")]
    every = lawyer.get("/templates", query_string={"q": "hold", "allVersions": "true"}).json
    assert [(t["version"], t["status"]) for t in every["items"]] == [
        (2, "PUBLISHED"),
        (1, "PUBLISHED"),
    ]
    versions = lawyer.get(f"/templates/{v1['id']}/versions").json
    assert [t["id"] for t in versions["items"]] == [v2["id"], v1["id"]]
    assert versions["items"][0]["checksum"] != versions["items"][1]["checksum"]


def test_archived_version_can_no_longer_be_edited_or_instantiated_when_archived(lawyer, demo):
    template = create(lawyer, "Litigation hold")
    published = lawyer.post(f"/templates/{template['id']}/publish").json

    archived = lawyer.post(f"/templates/{template['id']}/archive")
    assert archived.status_code == HTTPStatus.OK
    assert archived.json["status"] == "ARCHIVED"
    assert archived.json["checksum"] == published["checksum"]
    listed = lawyer.get("/templates", query_string={"status": "ARCHIVED"}).json["items"]
    assert [t["id"] for t in listed] == [template["id"]]

    before = snapshot()
    again = lawyer.post(f"/templates/{template['id']}/archive")
    assert again.status_code == HTTPStatus.CONFLICT
    assert again.json["error"]["message"] == "This version is already archived."
    edit = lawyer.patch(f"/templates/{template['id']}", json={"name": "Revived"})
    assert edit.status_code == HTTPStatus.CONFLICT
    assert "archived" in edit.json["error"]["message"]
    republish = lawyer.post(f"/templates/{template['id']}/publish")
    assert republish.status_code == HTTPStatus.CONFLICT
    assert "Only a draft can be published" in republish.json["error"]["message"]
    run = lawyer.post(f"/templates/{template['id']}/instantiate", json={"matterId": demo.matter.id})
    assert run.status_code == HTTPStatus.CONFLICT
    assert "ARCHIVED" in run.json["error"]["message"]
    assert snapshot() == before


def test_paralegal_cannot_author_templates_when_trying(demo, api_as):
    paralegal = api_as(demo.user(Role.PARALEGAL))
    before = snapshot()
    response = paralegal.post("/templates", json=three_step_template())
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot() == before


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_then_import_recreates_the_same_definition_when_round_tripped(lawyer, fmt):
    original = create(lawyer, "Litigation hold", "Preserve documents")
    exported = lawyer.get(f"/templates/{original['id']}/export", query_string={"format": fmt})
    assert exported.status_code == HTTPStatus.OK
    assert exported.mimetype == f"application/{fmt}"
    text = exported.get_data(as_text=True)
    document = yaml.safe_load(text) if fmt == "yaml" else json.loads(text)
    assert (document["schemaVersion"], document["triggers"]) == (2, [])
    assert (document["key"], document["version"]) == ("litigation_hold", 1)

    document["key"] = "litigation_hold_copy"
    body = yaml.safe_dump(document) if fmt == "yaml" else json.dumps(document)
    imported = lawyer.post("/templates/import", data=body, content_type=f"application/{fmt}")

    assert imported.status_code == HTTPStatus.CREATED, imported.json
    copy = imported.json
    assert (copy["key"], copy["version"], copy["status"]) == ("litigation_hold_copy", 1, "DRAFT")
    assert (copy["name"], copy["description"]) == (original["name"], original["description"])
    assert [{f: s[f] for f in STEP_FIELDS} for s in copy["steps"]] == [
        {f: s[f] for f in STEP_FIELDS} for s in original["steps"]
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ("{not json", "application/json", HTTPStatus.BAD_REQUEST, "could not be read"),
        ("[1, 2]", "application/json", HTTPStatus.BAD_REQUEST, "must be an object"),
        (
            json.dumps({"schemaVersion": 9, "name": "Future", "steps": []}),
            "application/json",
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "schemaVersion 9 is not supported",
        ),
        (
            "schemaVersion: 1\nname: Bad\nsteps:\n  - title: X\n    actionType: FAX\n",
            "application/yaml",
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "not valid",
        ),
    ],
    ids=["broken-json", "not-an-object", "future-schema", "unknown-action"],
)
def test_import_is_refused_and_nothing_is_created_when_the_document_is_bad(
    lawyer, body, content_type, status, message
):
    before = snapshot()
    response = lawyer.post("/templates/import", data=body, content_type=content_type)
    assert response.status_code == status, response.json
    assert message in response.json["error"]["message"]
    assert snapshot() == before


def test_import_is_refused_with_409_when_the_key_already_exists(lawyer):
    original = create(lawyer, "Litigation hold")
    document = lawyer.get(f"/templates/{original['id']}/export").json
    before = snapshot()
    response = lawyer.post("/templates/import", json=document)
    assert response.status_code == HTTPStatus.CONFLICT
    assert snapshot() == before
