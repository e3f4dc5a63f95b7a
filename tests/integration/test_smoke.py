from http import HTTPStatus

from webapp.engine.roles import Role


def test_health_says_the_process_answers(app):
    response = app.test_client().get("/health")
    assert response.status_code == HTTPStatus.OK
    assert response.json == {"status": "ok"}


def test_matters_list_shows_demo_matter_when_lawyer_asks(demo, api_as):
    response = api_as(demo.user(Role.LAWYER)).get("/matters?q=DEMO")
    assert response.status_code == HTTPStatus.OK
    assert [m["reference"] for m in response.json["items"]] == ["DEMO-001"]


def test_inbox_page_renders_when_signed_in(demo, login_as):
    web = login_as(demo.user(Role.PARALEGAL))
    assert web.get("/inbox").status_code == HTTPStatus.OK
