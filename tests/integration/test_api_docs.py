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
