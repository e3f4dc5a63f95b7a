"""/matters and a matter's Workflows tab: who sees which matter, progress, starting a
workflow from a published template."""

from http import HTTPStatus

from sqlalchemy import select

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import WorkflowEvent, WorkflowInstance, WorkflowTemplate


def test_matters_list_shows_the_firm_matters_when_lawyer_searches(
    demo, login_as, make_matter
) -> None:
    lawyer = demo.user(Role.LAWYER)
    make_matter(lawyer, reference="EST-77")
    web = login_as(lawyer)
    page = web.get("/matters").get_data(as_text=True)
    assert "DEMO-001" in page and "EST-77" in page and "1 active" in page
    found = web.get("/matters?q=est-", htmx=True).get_data(as_text=True)
    assert found.lstrip().startswith('<div id="matter-rows"')
    assert "EST-77" in found and "DEMO-001" not in found


def test_matters_list_shows_only_their_own_when_a_client_looks(demo, login_as, make_matter) -> None:
    make_matter(demo.user(Role.LAWYER), reference="OTHER-9")
    page = login_as(demo.user(Role.CLIENT)).get("/matters").get_data(as_text=True)
    assert "DEMO-001" in page and "OTHER-9" not in page


def test_workflows_tab_shows_status_progress_and_current_step_when_opened(demo, login_as) -> None:
    page = (
        login_as(demo.user(Role.LAWYER))
        .get(f"/matters/{demo.matter.id}/workflows")
        .get_data(as_text=True)
    )
    assert "Onboarding — Acme Corp" in page and "Running" in page
    assert "0 of 5 steps" in page and "Run conflict check" in page
    assert "Start a workflow" in page and "Client onboarding (v1, 5 steps)" in page


def test_workflows_tab_offers_no_start_form_when_a_client_looks(demo, login_as) -> None:
    page = (
        login_as(demo.user(Role.CLIENT))
        .get(f"/matters/{demo.matter.id}/workflows")
        .get_data(as_text=True)
    )
    assert "Onboarding — Acme Corp" in page and "With the firm" in page
    assert "Start a workflow" not in page


def test_start_creates_a_running_instance_and_redirects_when_template_is_chosen(
    demo, login_as
) -> None:
    template = db.session.scalar(select(WorkflowTemplate))
    response = login_as(demo.user(Role.LAWYER)).post(
        f"/matters/{demo.matter.id}/workflows",
        data={"template_id": str(template.id), "title": "Second onboarding"},
        htmx=True,
    )
    instance = db.session.scalar(
        select(WorkflowInstance).where(WorkflowInstance.title == "Second onboarding")
    )
    assert response.headers["HX-Redirect"] == f"/matters/{demo.matter.id}/workflows/{instance.id}"
    assert instance.status == "Running" and instance.steps[0].action_state == "READY"
    types = db.session.scalars(
        select(WorkflowEvent.event_type).where(WorkflowEvent.instance_id == instance.id)
    )
    assert {"instance.created", "instance.status_changed", "step.activate"} <= set(types)


def test_start_shows_inline_error_when_no_template_is_chosen(demo, login_as) -> None:
    before = db.session.scalar(select(db.func.count()).select_from(WorkflowInstance))
    response = login_as(demo.user(Role.LAWYER)).post(
        f"/matters/{demo.matter.id}/workflows", data={"template_id": ""}, htmx=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert body.lstrip().startswith('<section id="start-workflow"') and "Choose a template." in body
    assert db.session.scalar(select(db.func.count()).select_from(WorkflowInstance)) == before


def test_start_is_refused_and_nothing_created_when_a_client_posts(demo, login_as) -> None:
    template = db.session.scalar(select(WorkflowTemplate))
    before = db.session.scalar(select(db.func.count()).select_from(WorkflowInstance))
    response = login_as(demo.user(Role.CLIENT)).post(
        f"/matters/{demo.matter.id}/workflows", data={"template_id": str(template.id)}, htmx=True
    )
    assert response.status_code >= HTTPStatus.BAD_REQUEST
    assert db.session.scalar(select(db.func.count()).select_from(WorkflowInstance)) == before
