"""GET /api/v1/actions: the action catalog as API clients read it, and each action
type's config schema as a component of the OpenAPI document."""

from http import HTTPStatus

import pytest

from webapp.engine.actions import all_handlers, get_handler
from webapp.engine.roles import Role


@pytest.fixture
def paralegal(demo, api_as):
    return api_as(demo.user(Role.PARALEGAL))


def test_catalog_lists_every_action_type_with_schema_and_example_when_asked(paralegal) -> None:
    response = paralegal.get("/actions")
    assert response.status_code == HTTPStatus.OK, response.json
    body = response.json
    assert body["total"] == len(all_handlers()) == len(body["items"])
    by_type = {item["type"]: item for item in body["items"]}
    checklist = by_type["CHECKLIST"]
    assert set(checklist) == {
        "type",
        "category",
        "label",
        "description",
        "automated",
        "configSchema",
        "example",
    }
    assert (checklist["category"], checklist["label"], checklist["automated"]) == (
        "human",
        "Checklist",
        False,
    )
    assert checklist["configSchema"]["required"] == ["items"]
    assert by_type["core.http"]["category"] == "integration" and by_type["core.http"]["automated"]
    assert by_type["core.email"]["category"] == "notification"
    for item in body["items"]:
        assert item["configSchema"] == get_handler(item["type"]).config_schema()
        assert item["example"] == get_handler(item["type"]).example
    categories = [item["category"] for item in body["items"]]
    assert categories[:5] == ["human"] * 5  # people's actions first, as the builder shows


def test_catalog_is_filtered_by_category_and_paged_when_asked(paralegal) -> None:
    control = paralegal.get("/actions?category=control").json
    assert [i["type"] for i in control["items"]] == ["core.delay", "core.subworkflow"]
    assert control["total"] == 2
    page = paralegal.get("/actions?limit=2&offset=1").json
    everything = paralegal.get("/actions").json["items"]
    assert page["items"] == everything[1:3] and page["total"] == len(everything)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "category=people",
            "category must be one of human, notification, document, integration, control or data.",
        ),
        ("limit=0", "limit must be 1 to 200 and offset 0 to 2,147,483,647."),
    ],
)
def test_catalog_refuses_a_query_outside_the_document_with_400_when_asked(
    paralegal, query, message
) -> None:
    response = paralegal.get(f"/actions?{query}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json["error"]["message"] == message


def test_catalog_needs_a_signed_in_caller_when_asked_anonymously(app) -> None:
    response = app.test_client().get("/api/v1/actions")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json["error"]["code"] == "unauthorized"


def test_openapi_document_has_each_config_schema_as_a_component_when_fetched(app) -> None:
    document = app.test_client().get("/api/openapi.json").json
    components = document["components"]["schemas"]
    for handler in all_handlers():
        component = components[handler.Config.__name__]
        schema = handler.config_schema()
        assert component["properties"] == schema["properties"], handler.type
        assert component.get("required") == schema.get("required")
    listed = document["paths"]["/api/v1/actions"]["get"]["responses"]["200"]
    assert listed["content"]["application/json"]["schema"]["$ref"].endswith("/ActionList")
    item = components["ActionOut"]["properties"]
    assert set(item) == {
        "type",
        "category",
        "label",
        "description",
        "automated",
        "configSchema",
        "example",
    }
