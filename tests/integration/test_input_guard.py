from http import HTTPStatus

from sqlalchemy import func, select

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, WorkflowTemplate


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_api_refuses_a_nul_character_when_creating_a_matter(demo, api_as):
    before = count(Matter)
    response = api_as(demo.user(Role.LAWYER)).post(
        "/matters", json={"reference": "NUL-1", "title": "Acme\u0000 Corp"}
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "NUL" in response.json["error"]["message"]
    assert count(Matter) == before


def test_api_refuses_a_nul_character_when_searching(demo, api_as):
    response = api_as(demo.user(Role.LAWYER)).get("/matters?q=a%00b")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json["error"]["code"] == "invalid"


def test_import_refuses_a_nul_character_when_the_yaml_escapes_one(demo, api_as):
    before = count(WorkflowTemplate)
    document = 'schemaVersion: 1\nname: "Bad\\0name"\nsteps: []\n'
    response = api_as(demo.user(Role.LAWYER)).post(
        "/templates/import", data=document, content_type="application/yaml"
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert count(WorkflowTemplate) == before


def test_sign_in_form_refuses_a_nul_character_with_a_page_not_a_crash(app):
    response = app.test_client().get("/login?next=%00")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "NUL character" in response.get_data(as_text=True)
