"""The frame around every page: navigation by role, friendly error pages, errors shown in
place for HTMX requests, sign-in, and CSRF on every state-changing request."""

from http import HTTPStatus

from sqlalchemy import func, select

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, WorkflowEvent, WorkflowTemplate


def test_navigation_offers_templates_when_user_is_staff(demo, login_as) -> None:
    page = login_as(demo.user(Role.LAWYER)).get("/inbox").get_data(as_text=True)
    assert 'href="/workflows/templates"' in page
    assert "Lee Lawyer" in page and "Demo Law LLP" in page and "Sign out" in page


def test_navigation_hides_templates_when_user_is_a_client(demo, login_as) -> None:
    page = login_as(demo.user(Role.CLIENT)).get("/inbox").get_data(as_text=True)
    assert 'href="/workflows/templates"' not in page
    assert 'href="/matters"' in page


def test_unknown_page_shows_friendly_404_when_signed_in(demo, login_as) -> None:
    response = login_as(demo.user(Role.LAWYER)).get("/matters/999999/workflows")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "We could not find that page" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_forbidden_page_shows_friendly_403_when_paralegal_opens_templates(demo, login_as) -> None:
    response = login_as(demo.user(Role.PARALEGAL)).get("/workflows/templates")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "You do not have access to this" in response.get_data(as_text=True)


def test_htmx_error_is_an_inline_block_when_request_is_forbidden(demo, login_as) -> None:
    template_id = db.session.scalar(select(WorkflowTemplate.id))
    response = login_as(demo.user(Role.CLIENT)).post(
        f"/workflows/templates/{template_id}/archive", htmx=True
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.headers["X-Matterflow-Error"] == "403"
    assert response.headers["HX-Reswap"] == "none"
    body = response.get_data(as_text=True)
    assert 'class="inline-error"' in body and "<html" not in body
    assert db.session.scalar(select(WorkflowTemplate.status)) == "PUBLISHED"


def test_pages_redirect_to_sign_in_when_signed_out(app) -> None:
    response = app.test_client().get("/matters")
    assert response.status_code == HTTPStatus.FOUND
    assert "/login?next=/matters" in response.headers["Location"]


def test_htmx_request_is_sent_to_sign_in_when_session_is_gone(app) -> None:
    response = app.test_client().get("/matters", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith("/login?next=/matters")


def _step(key: str) -> InstanceStep:
    return db.session.scalar(select(InstanceStep).where(InstanceStep.key == key))


def test_post_without_csrf_token_is_rejected_when_form_is_submitted(demo, login_as) -> None:
    web = login_as(demo.user(Role.PARALEGAL))
    step = _step("conflict_check")
    before = db.session.scalar(select(func.count()).select_from(WorkflowEvent))
    response = web.client.post(
        f"/steps/{step.id}/tick",
        data={"item": "Search client database", "checked": "Search client database"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "could not be checked, so nothing was changed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert _step("conflict_check").action_state == "READY"
    assert db.session.scalar(select(func.count()).select_from(WorkflowEvent)) == before


def test_post_with_csrf_header_is_accepted_when_token_matches(demo, login_as) -> None:
    web = login_as(demo.user(Role.PARALEGAL))
    step = _step("conflict_check")
    response = web.post(
        f"/steps/{step.id}/tick",
        data={"item": "Search client database", "checked": "Search client database"},
        htmx=True,
    )
    assert response.status_code == HTTPStatus.OK
    db.session.expire_all()
    assert _step("conflict_check").action_state == "IN_PROGRESS"


def test_every_form_carries_a_csrf_token_when_page_renders(demo, login_as) -> None:
    web = login_as(demo.user(Role.LAWYER))
    template_id = db.session.scalar(select(WorkflowTemplate.id))
    paths = (
        "/workflows/templates",
        f"/matters/{demo.matter.id}/workflows",
        f"/workflows/templates/{template_id}",
    )
    for path in paths:
        page = web.get(path).get_data(as_text=True)
        assert page.count('method="post"') <= page.count('name="csrf_token"'), path
        assert 'hx-headers:inherited=\'{"X-CSRFToken"' in page
