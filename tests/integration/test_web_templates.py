"""/workflows/templates: list, search, create, publish, archive, new version."""

from http import HTTPStatus

from sqlalchemy import select

from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import WorkflowEvent, WorkflowTemplate
from webapp.services.templates import create_template


def _template(name: str) -> WorkflowTemplate | None:
    return db.session.scalar(select(WorkflowTemplate).where(WorkflowTemplate.name == name))


def _events(template_id: int, event_type: str) -> list[WorkflowEvent]:
    return list(
        db.session.scalars(
            select(WorkflowEvent).where(
                WorkflowEvent.template_id == template_id, WorkflowEvent.event_type == event_type
            )
        )
    )


def test_list_shows_status_and_version_when_lawyer_opens_it(demo, login_as) -> None:
    page = login_as(demo.user(Role.LAWYER)).get("/workflows/templates").get_data(as_text=True)
    assert "Client onboarding" in page
    assert "Published" in page and "v1" in page
    assert "Create template" in page


def test_search_returns_only_the_rows_block_when_htmx_asks(demo, login_as) -> None:
    lawyer = demo.user(Role.LAWYER)
    create_template(lawyer, "Residential conveyancing", [])
    web = login_as(lawyer)
    response = web.get("/workflows/templates?q=convey", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert body.lstrip().startswith('<div id="template-rows"')
    assert "Residential conveyancing" in body and "Client onboarding" not in body
    drafts = web.get("/workflows/templates?status=draft", htmx=True).get_data(as_text=True)
    assert "Residential conveyancing" in drafts and "Client onboarding" not in drafts


def test_create_redirects_to_the_builder_when_name_is_given(demo, login_as) -> None:
    response = login_as(demo.user(Role.LAWYER)).post(
        "/workflows/templates", data={"name": "Probate", "description": "Estates"}, htmx=True
    )
    template = _template("Probate")
    assert template is not None and template.status == "DRAFT"
    assert response.headers["HX-Redirect"] == f"/workflows/templates/{template.id}"
    assert len(_events(template.id, "template.created")) == 1


def test_create_shows_inline_error_when_name_is_blank(demo, login_as) -> None:
    before = db.session.scalar(select(db.func.count()).select_from(WorkflowTemplate))
    response = login_as(demo.user(Role.LAWYER)).post(
        "/workflows/templates", data={"name": "  "}, htmx=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert 'id="create-template-panel"' in body and "Enter a name." in body
    assert db.session.scalar(select(db.func.count()).select_from(WorkflowTemplate)) == before


def test_publish_from_the_list_swaps_the_row_when_draft_is_valid(demo, login_as) -> None:
    lawyer = demo.user(Role.LAWYER)
    draft = create_template(lawyer, "Lease review", [_checklist_step()])
    response = login_as(lawyer).post(f"/workflows/templates/{draft.id}/publish", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert body.lstrip().startswith(f'<tr id="template-{draft.id}"')
    assert "Published" in body
    assert len(_events(draft.id, "template.published")) == 1


def test_publish_from_the_list_lists_problems_when_draft_has_no_steps(demo, login_as) -> None:
    lawyer = demo.user(Role.LAWYER)
    draft = create_template(lawyer, "Empty", [])
    response = login_as(lawyer).post(f"/workflows/templates/{draft.id}/publish", htmx=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "at least one step" in response.get_data(as_text=True)
    db.session.expire_all()
    assert _template("Empty").status == "DRAFT"


def test_archive_marks_the_row_archived_when_lawyer_confirms(demo, login_as) -> None:
    template = _template("Client onboarding")
    body = (
        login_as(demo.user(Role.LAWYER))
        .post(f"/workflows/templates/{template.id}/archive", htmx=True)
        .get_data(as_text=True)
    )
    assert "Archived" in body and "hx-confirm" not in body  # no archive button any more
    assert len(_events(template.id, "template.archived")) == 1


def test_archive_button_asks_for_confirmation_when_listed(demo, login_as) -> None:
    page = login_as(demo.user(Role.LAWYER)).get("/workflows/templates").get_data(as_text=True)
    assert 'hx-confirm="Archive “Client onboarding” v1?' in page


def test_publish_is_forbidden_when_paralegal_posts(demo, login_as) -> None:
    lawyer = demo.user(Role.LAWYER)
    draft = create_template(lawyer, "Lease review", [_checklist_step()])
    response = login_as(demo.user(Role.PARALEGAL)).post(
        f"/workflows/templates/{draft.id}/publish", htmx=True
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    db.session.expire_all()
    assert _template("Lease review").status == "DRAFT"
    assert _events(draft.id, "template.published") == []


def test_edit_as_new_version_creates_the_next_draft_when_version_is_published(
    demo, login_as
) -> None:
    published = _template("Client onboarding")
    response = login_as(demo.user(Role.LAWYER)).post(
        f"/workflows/templates/{published.id}/new-version"
    )
    draft = db.session.scalar(
        select(WorkflowTemplate).where(
            WorkflowTemplate.key == published.key, WorkflowTemplate.version == 2
        )
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response.headers["Location"] == f"/workflows/templates/{draft.id}"
    assert draft.status == "DRAFT" and [s.key for s in draft.steps] == [
        s.key for s in published.steps
    ]
    db.session.expire_all()
    assert db.session.get(WorkflowTemplate, published.id).status == "PUBLISHED"


def _checklist_step() -> StepDefinition:
    return StepDefinition(
        title="Check the lease",
        action_type="CHECKLIST",
        action_config={"items": ["Read it"]},
        role_scope=Role.PARALEGAL,
    )
