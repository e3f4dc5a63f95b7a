"""Template documents, schemaVersion 2 (docs/dsl.md): a version-1 document as exported
before version 2 still imports; export -> import round-trips exactly; the reserved
triggers list; every import problem named by its JSON path; the published JSON Schema
agreeing with what the import accepts and refuses."""

import json
from http import HTTPStatus
from pathlib import Path

import jsonschema_rs
import pytest
import yaml

from tests.integration.support import snapshot
from webapp.engine.roles import Role

DATA = Path(__file__).parent / "data"
# Exported by this server before schemaVersion 2 (commit 88971e5), kept as it was written.
V1_JSON = (DATA / "dsl_v1_client_intake.json").read_text(encoding="utf-8")
V1_YAML = (DATA / "dsl_v1_client_intake.yaml").read_text(encoding="utf-8")


@pytest.fixture
def lawyer(demo, api_as):
    return api_as(demo.user(Role.LAWYER))


@pytest.fixture
def other_lawyer(second_firm, api_as):
    return api_as(second_firm["lawyer"])


def post_document(api, text: str, media: str = "application/json"):
    return api.post("/templates/import", data=text, content_type=media)


def export(api, template_id: int, fmt: str = "json") -> str:
    response = api.get(f"/templates/{template_id}/export?format={fmt}")
    assert response.status_code == HTTPStatus.OK
    return response.get_data(as_text=True)


@pytest.mark.parametrize(("text", "media"), [(V1_JSON, "json"), (V1_YAML, "yaml")])
def test_version_one_document_as_exported_before_imports_when_posted(lawyer, text, media):
    response = post_document(lawyer, text, f"application/{media}")
    assert response.status_code == HTTPStatus.CREATED, response.json
    v1 = json.loads(V1_JSON)
    assert response.json["key"] == "client_intake"
    fields = ("key", "title", "actionType", "actionConfig", "roleScope", "required")
    fields += ("dependsOn", "condition", "onFailure", "retry", "dueIn")
    assert [{f: s[f] for f in fields} for s in response.json["steps"]] == v1["steps"]
    again = json.loads(export(lawyer, response.json["id"]))
    assert again == {**v1, "schemaVersion": 2, "triggers": []}


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_then_import_in_another_firm_round_trips_exactly_when_exported_again(
    lawyer, other_lawyer, fmt
):
    created = post_document(lawyer, V1_JSON)
    assert created.status_code == HTTPStatus.CREATED, created.json
    first = export(lawyer, created.json["id"], fmt)
    assert ("schemaVersion: 2" if fmt == "yaml" else '"schemaVersion": 2') in first
    imported = post_document(other_lawyer, first, f"application/{fmt}")
    assert imported.status_code == HTTPStatus.CREATED, imported.json
    assert imported.json["id"] != created.json["id"]
    assert export(other_lawyer, imported.json["id"], fmt) == first


def test_empty_triggers_are_accepted_and_exported_when_imported(lawyer):
    document = {**json.loads(V1_JSON), "schemaVersion": 2, "triggers": [], "key": "hold"}
    response = lawyer.post("/templates/import", json=document)
    assert response.status_code == HTTPStatus.CREATED, response.json
    assert json.loads(export(lawyer, response.json["id"]))["triggers"] == []


@pytest.mark.parametrize("version", [1])
def test_triggers_are_refused_naming_triggers_and_nothing_is_created_when_sent(lawyer, version):
    document = {**json.loads(V1_JSON), "schemaVersion": version}
    document["triggers"] = [{"name": "New intake", "kind": "webhook"}]
    before = snapshot()
    response = lawyer.post("/templates/import", json=document)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, response.json
    error = response.json["error"]
    assert "triggers" in error["message"]
    assert [d["path"] for d in error["details"]] == ["triggers"]
    assert snapshot() == before


TRIGGERS = [
    {
        "name": "New intake",
        "kind": "webhook",
        "enabled": True,
        "condition": 'trigger.data.practiceArea == "employment"',
        "matter": {"create": True},
        "schedule": None,
        "event": None,
        "parameters": {"client": "{{ trigger.data.client }}"},
    },
    {
        "name": "Weekly review",
        "kind": "schedule",
        "enabled": False,
        "condition": None,
        "matter": {"filter": 'matter.reference.startsWith("LIT-")'},
        "schedule": {"cron": "0 9 * * 1", "timezone": "Europe/London", "missed": "fire_once"},
        "event": None,
        "parameters": {},
    },
    {
        "name": "Opened",
        "kind": "event",
        "enabled": True,
        "condition": None,
        "matter": {"fromPayload": True},
        "schedule": None,
        "event": {"type": "matter.created"},
        "parameters": {},
    },
]


@pytest.fixture
def admin(demo, api_as):
    return api_as(demo.user(Role.ADMIN))


@pytest.fixture
def other_admin(second_firm, make_user, api_as):
    return api_as(make_user(second_firm["org"], Role.ADMIN))


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_template_with_triggers_round_trips_exactly_through_another_firm(admin, other_admin, fmt):
    document = {**json.loads(V1_JSON), "schemaVersion": 2, "triggers": TRIGGERS}
    created = admin.post("/templates/import", json=document)
    assert created.status_code == HTTPStatus.CREATED, created.json
    first = export(admin, created.json["id"], fmt)
    parsed = yaml.safe_load(first) if fmt == "yaml" else json.loads(first)
    assert parsed["triggers"] == TRIGGERS
    imported = post_document(other_admin, first, f"application/{fmt}")
    assert imported.status_code == HTTPStatus.CREATED, imported.json
    assert export(other_admin, imported.json["id"], fmt) == first
    kinds = [t["kind"] for t in other_admin.get("/triggers").json["items"]]
    assert kinds == ["webhook", "schedule", "event"]


def test_a_lawyer_neither_exports_nor_imports_triggers(admin, lawyer):
    document = {**json.loads(V1_JSON), "schemaVersion": 2, "triggers": TRIGGERS}
    created = admin.post("/templates/import", json=document)
    assert json.loads(export(lawyer, created.json["id"]))["triggers"] == []
    before = snapshot()
    refused = lawyer.post("/templates/import", json={**document, "key": "again"})
    assert refused.status_code == HTTPStatus.FORBIDDEN, refused.json
    assert [d["path"] for d in refused.json["error"]["details"]] == ["triggers[0]"]
    assert snapshot() == before


def test_a_trigger_that_cannot_work_is_refused_by_its_path_and_nothing_is_created(admin):
    bad = {**TRIGGERS[1], "schedule": {"cron": "every monday", "timezone": "UTC"}}
    document = {**json.loads(V1_JSON), "schemaVersion": 2, "triggers": [TRIGGERS[0], bad]}
    before = snapshot()
    response = admin.post("/templates/import", json=document)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, response.json
    assert [d["path"] for d in response.json["error"]["details"]] == ["triggers[1].schedule"]
    assert snapshot() == before


def _document(**changes) -> dict:
    document = {**json.loads(V1_JSON), "schemaVersion": 2, "key": "copy"}
    return {**document, **changes}


def _steps(**changes_by_index) -> list[dict]:
    steps = json.loads(V1_JSON)["steps"]
    for index, changes in changes_by_index.items():
        position = int(index.removeprefix("s"))
        steps[position] = {**steps[position], **changes}
    return steps


@pytest.mark.parametrize(
    ("document", "status", "paths"),
    [
        (  # the action's own config model
            _document(steps=_steps(s0={"actionConfig": {"items": []}})),
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ["steps[0].actionConfig.items"],
        ),
        (
            _document(steps=_steps(s0={"actionConfig": {"items": ["Search", " "]}})),
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ["steps[0].actionConfig.items"],
        ),
        (
            _document(steps=_steps(s4={"actionConfig": {"url": "ftp://x", "timeout": 90}})),
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ["steps[4].actionConfig.url", "steps[4].actionConfig.timeout"],
        ),
        (
            _document(steps=_steps(s5={"actionConfig": {"to": ["a@b.test", "nope"]}})),
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ["steps[5].actionConfig.to", "steps[5].actionConfig.subject"],
        ),
        (  # the document's own shape
            _document(steps=_steps(s3={"required": "yes"})),
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ["steps[3].required"],
        ),
        (
            _document(steps=_steps(s4={"retry": {"maxAttempts": 0}})),
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ["steps[4].retry.maxAttempts"],
        ),
        (_document(extra=1), HTTPStatus.UNPROCESSABLE_ENTITY, ["extra"]),
        (_document(schemaVersion=7), HTTPStatus.UNPROCESSABLE_ENTITY, ["schemaVersion"]),
        (_document(schemaVersion="2"), HTTPStatus.UNPROCESSABLE_ENTITY, ["schemaVersion"]),
        (  # what only the server knows: action types, roles, keys
            _document(steps=_steps(s2={"actionType": "FAX_CLIENT"})),
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ["steps[2].actionType"],
        ),
        (
            _document(steps=_steps(s3={"roleScope": "LAWYER"})),
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ["steps[3].roleScope"],
        ),
        (
            _document(steps=_steps(s6={"key": "crm"})),
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ["steps[4].key", "steps[6].key"],
        ),
        (_document(name="Line\nbreak"), HTTPStatus.UNPROCESSABLE_ENTITY, ["name"]),
    ],
)
def test_every_import_problem_names_its_json_path_and_nothing_is_created(
    lawyer, document, status, paths
):
    before = snapshot()
    response = lawyer.post("/templates/import", json=document)
    assert response.status_code == status, response.json
    details = response.json["error"]["details"]
    assert [d["path"] for d in details] == paths, details
    assert all(d["message"] for d in details)
    assert snapshot() == before


def test_taken_key_is_refused_with_409_naming_key_when_imported_twice(lawyer):
    assert post_document(lawyer, V1_JSON).status_code == HTTPStatus.CREATED
    before = snapshot()
    response = post_document(lawyer, V1_JSON)
    assert response.status_code == HTTPStatus.CONFLICT
    assert [d["path"] for d in response.json["error"]["details"]] == ["key"]
    assert snapshot() == before


def test_dsl_schema_is_published_without_signing_in_and_describes_version_two(app):
    response = app.test_client().get("/api/v1/dsl/schema")
    assert response.status_code == HTTPStatus.OK
    schema = response.json
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schemaVersion"]["enum"] == [1, 2]
    assert schema["properties"]["triggers"]["type"] == "array"
    assert "triggers API" in schema["properties"]["triggers"]["description"]
    assert set(schema["required"]) == {"schemaVersion", "name", "steps"}
    assert "ChecklistConfig" in schema["$defs"]


def test_published_schema_accepts_exports_and_refuses_a_bad_config_when_checked(app, lawyer):
    validator = jsonschema_rs.validator_for(app.test_client().get("/api/v1/dsl/schema").json)
    created = post_document(lawyer, V1_JSON)
    exported = json.loads(export(lawyer, created.json["id"]))
    assert list(validator.iter_errors(exported)) == []
    assert validator.is_valid(json.loads(V1_JSON))
    assert validator.is_valid(yaml.safe_load(V1_YAML))
    # A step's actionConfig is checked against its actionType's config schema.
    bad = _document(steps=_steps(s0={"actionConfig": {"items": []}}))
    assert not validator.is_valid(bad)
    wrong_type = _document(steps=_steps(s4={"actionConfig": {"items": ["a"]}}))
    assert not validator.is_valid(wrong_type)
    assert not validator.is_valid(_document(triggers=[{"kind": "webhook"}]))


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("value", [{}, None, "none"])
def test_triggers_that_are_not_a_list_are_refused_naming_triggers_when_sent(lawyer, version, value):
    before = snapshot()
    response = lawyer.post(
        "/templates/import", json=_document(schemaVersion=version, triggers=value)
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, response.json
    assert [d["path"] for d in response.json["error"]["details"]] == ["triggers"]
    assert snapshot() == before
