"""What the OpenAPI document calls invalid is refused, and what it promises is returned:
list filters outside their listed values, the export's declared shape, import bodies its
schema refuses, an empty PATCH. Each refusal is in plain words and changes nothing."""

import json
from http import HTTPStatus

import pytest
import yaml

from tests.integration.support import snapshot, three_step_template
from webapp.engine.roles import Role
from webapp.services.dsl_io import TemplateDocument


@pytest.fixture
def lawyer(demo, api_as):
    return api_as(demo.user(Role.LAWYER))


@pytest.fixture
def template(lawyer) -> dict:
    body = {
        **three_step_template("Litigation hold"),
        "steps": [
            {
                **three_step_template()["steps"][0],
                "retry": {"maxAttempts": 2, "backoffSeconds": 1, "backoffFactor": 2},
                "dueIn": "3 days",
            },
            *three_step_template()["steps"][1:],
        ],
    }
    created = lawyer.post("/templates", json=body)
    assert created.status_code == HTTPStatus.CREATED, created.json
    return created.json


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/templates", "status=draft", "status must be one of DRAFT, PUBLISHED or ARCHIVED."),
        ("/templates", "status=", "status must be one of DRAFT, PUBLISHED or ARCHIVED."),
        ("/templates", "status=DRAFT&status=DRAFT", "status may be given only once."),
        ("/templates", "allVersions=yes", "allVersions must be true or false."),
        ("/templates", "allVersions=True", "allVersions must be true or false."),
        ("/templates", "allVersions=null&allVersions=null", "allVersions may be given only once."),
        (
            "/instances",
            "status=Done",
            "status must be one of Created, Running, Paused, "
            "WaitingForInput, WaitingForApproval, Completed, Failed or Cancelled.",
        ),
        ("/instances", "status=Running&status=Paused", "status may be given only once."),
        ("/instances", "limit=5&limit=6", "limit may be given only once."),
        ("/templates/1/export", "format=JSON", "format must be one of json or yaml."),
    ],
)
def test_list_filter_outside_the_document_is_refused_with_400_in_plain_words_when_asked(
    lawyer, template, path, query, message
):
    response = lawyer.get(f"{path}?{query}")
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.json
    assert response.json["error"]["message"] == message


def test_list_filters_the_document_lists_are_accepted_when_asked(lawyer, template):
    drafts = lawyer.get("/templates?status=DRAFT&allVersions=false")
    assert drafts.status_code == HTTPStatus.OK, drafts.json
    assert template["id"] in [t["id"] for t in drafts.json["items"]]
    published = lawyer.get("/templates?status=PUBLISHED&allVersions=true")
    assert template["id"] not in [t["id"] for t in published.json["items"]]
    running = lawyer.get("/instances?status=Running")
    assert running.status_code == HTTPStatus.OK
    assert {i["status"] for i in running.json["items"]} <= {"Running"}


def test_export_is_declared_as_the_template_document_in_json_and_yaml(app):
    document = app.test_client().get("/api/openapi.json").json
    ok = document["paths"]["/api/v1/templates/{template_id}/export"]["get"]["responses"]["200"]
    assert set(ok["content"]) == {"application/json", "application/yaml"}
    refs = {media["schema"]["$ref"] for media in ok["content"].values()}
    assert refs == {"#/components/schemas/TemplateDocument"}
    imported = document["paths"]["/api/v1/templates/import"]["post"]["requestBody"]["content"]
    assert {m["schema"]["$ref"] for m in imported.values()} == refs


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_reads_back_strictly_as_its_declared_shape_when_exported(lawyer, template, fmt):
    exported = lawyer.get(f"/templates/{template['id']}/export?format={fmt}")
    assert exported.status_code == HTTPStatus.OK
    text = exported.get_data(as_text=True)
    data = yaml.safe_load(text) if fmt == "yaml" else json.loads(text)
    parsed = TemplateDocument.model_validate_json(json.dumps(data), strict=True)
    assert parsed.key == template["key"]
    assert parsed.steps[0].retry is not None and parsed.steps[0].due_in == "P3D"


@pytest.mark.parametrize(
    ("media", "body", "field"),
    [
        (
            "application/yaml",
            "schemaVersion: 1\nname: Hold\nversion: false\nsteps: []\n",
            "version",
        ),
        (
            "application/json",
            '{"schemaVersion": true, "name": "Hold", "steps": []}',
            "schemaVersion",
        ),
        (
            "application/json",
            json.dumps(
                {
                    "schemaVersion": 1,
                    "name": "Hold",
                    "steps": [{"title": "A", "actionType": "CHECKLIST", "required": "yes"}],
                }
            ),
            "steps.0.required",
        ),
        (
            "application/json",
            json.dumps({"schemaVersion": 1, "key": "k" * 101, "name": "Hold", "steps": []}),
            "key",
        ),
        ("application/json", '{"schemaVersion": 1, "name": "Hold", "steps": [], "x": 1}', "x"),
    ],
)
def test_import_refuses_with_422_what_its_schema_calls_invalid_and_creates_nothing(
    lawyer, media, body, field
):
    before = snapshot()
    response = lawyer.post("/templates/import", data=body, content_type=media)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, response.json
    error = response.json["error"]
    assert error["message"] == "The definition is not valid."
    assert [d["field"] for d in error["details"]] == [field]
    assert snapshot() == before


def test_import_of_an_export_creates_the_same_steps_when_round_tripped_as_yaml(lawyer, template):
    text = lawyer.get(f"/templates/{template['id']}/export?format=yaml").get_data(as_text=True)
    document = yaml.safe_load(text)
    document["key"] = "litigation_hold_copy"
    response = lawyer.post(
        "/templates/import", data=yaml.safe_dump(document), content_type="application/yaml"
    )
    assert response.status_code == HTTPStatus.CREATED, response.json
    assert [s["retry"] for s in response.json["steps"]] == [s["retry"] for s in template["steps"]]


def test_empty_patch_of_a_published_template_is_refused_and_creates_no_draft(lawyer, template):
    published = lawyer.post(f"/templates/{template['id']}/publish")
    assert published.status_code == HTTPStatus.OK
    before = snapshot()
    for response in (
        lawyer.patch(f"/templates/{template['id']}", json={}),
        lawyer.patch(f"/templates/{template['id']}"),
    ):
        assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, response.json
        assert response.json["error"]["details"][0]["message"] == (
            "Send at least one field to change."
        )
    assert snapshot() == before
