from http import HTTPStatus

from webapp.api.spec import ROUTES


def test_api_reference_lists_every_route_with_its_body_when_opened_without_signing_in(app):
    page = app.test_client().get("/api/docs")
    assert page.status_code == HTTPStatus.OK
    html = page.get_data(as_text=True)
    for route in ROUTES:
        path = "/api/v1" + route.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        assert path in html, path
    assert "<code>TemplateIn</code>" in html
    assert "multipart <code>file</code> parts" in html
    assert "signed webhook" in html


def test_openapi_document_is_version_three_one_when_fetched(app):
    document = app.test_client().get("/api/openapi.json").json
    assert document["openapi"] == "3.1.0"
    assert "/api/v1/instances/{instance_id}/drift" in document["paths"]


def test_api_reference_marks_the_dsl_schema_as_public_and_not_a_webhook_when_opened(app):
    html = app.test_client().get("/api/docs").get_data(as_text=True)
    line = html.split("/api/v1/dsl/schema</code>", 1)[1].split("</div>", 1)[0]
    assert "no sign-in" in line and "signed webhook" not in line
