"""The template builder: rows, the schema-generated inspector, adding, editing, removing
and reordering steps, publishing with problems shown by the step, and draft rules."""

import re
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any, Literal

import pytest
from pydantic import Field
from sqlalchemy import select

from webapp.engine.actions import registry
from webapp.engine.actions.base import ActionConfig, ActionHandler, Category
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import TemplateStep, WorkflowEvent, WorkflowTemplate
from webapp.services.templates import create_template
from webapp.web.forms import problems_by_step


def _steps() -> list[StepDefinition]:
    return [
        StepDefinition(
            key="intake",
            title="Intake call",
            action_type="CHECKLIST",
            action_config={"items": ["Call the client"]},
            role_scope=Role.PARALEGAL,
        ),
        StepDefinition(
            key="approve",
            title="Approve",
            action_type="APPROVAL_LAWYER",
            action_config={"message": "Go?"},
            role_scope=Role.LAWYER,
        ),
        StepDefinition(
            key="funds",
            title="Proof of funds",
            action_type="REQUEST_DOC_CLIENT",
            action_config={"requestText": "A bank statement"},
            role_scope=Role.CLIENT,
        ),
    ]


@pytest.fixture
def draft(demo) -> WorkflowTemplate:
    return create_template(demo.user(Role.LAWYER), "Purchase", _steps())


@pytest.fixture
def lawyer_web(demo, login_as) -> Any:
    return login_as(demo.user(Role.LAWYER))


def _titles(template_id: int) -> list[str]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(TemplateStep)
        .where(TemplateStep.template_id == template_id)
        .order_by(TemplateStep.order)
    )
    return [s.title for s in rows]


def _event_types(template_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(WorkflowEvent.event_type)
            .where(WorkflowEvent.template_id == template_id)
            .order_by(WorkflowEvent.id)
        )
    )


def _add(**fields: Any) -> dict[str, Any]:
    return {
        "sections": ["basics", "type", "config", "advanced"],
        "depends_mode": "previous",
        **fields,
    }


def test_builder_shows_rows_inspector_and_preview_when_draft_opens(draft, lawyer_web) -> None:
    page = lawyer_web.get(f"/workflows/templates/{draft.id}").get_data(as_text=True)
    assert page.count('<li class="step-row') == 3
    assert 'id="inspector"' in page and 'data-selected-step="' in page
    assert re.search(
        r"Ready at start</p>\s*<ul[^>]*>\s*<li[^>]*>\s*<span class=\"pi-title\">Intake call", page
    )
    assert "Waits on Intake call" in page
    assert "data-sortable" in page and 'hx-trigger="end"' in page


def test_add_step_appends_row_and_audits_when_config_is_valid(draft, lawyer_web) -> None:
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps",
        data=_add(
            title="Engagement letter",
            action_type="SIGNATURE_CLIENT",
            role_scope="CLIENT",
            required="on",
            **{"config.documentId": "12"},
        ),
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert body.lstrip().startswith('<section id="add-step"')
    assert 'id="builder-steps" class="card steps-card" hx-swap-oob="true"' in body
    assert 'id="preview" class="card preview" hx-swap-oob="true"' in body
    assert _titles(draft.id)[-1] == "Engagement letter"
    step = db.session.scalar(select(TemplateStep).where(TemplateStep.title == "Engagement letter"))
    assert step.action_config == {"documentId": 12}
    assert step.role_scope == "CLIENT" and step.order == 4
    assert _event_types(draft.id)[-1] == "template.step_added"


def test_add_step_shows_error_beside_field_when_config_is_missing(draft, lawyer_web) -> None:
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps",
        data=_add(title="Checks", action_type="CHECKLIST", role_scope="PARALEGAL"),
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert re.search(r'id="add-config-items"[^>]*aria-invalid="true"', body)
    assert 'id="actionConfig-items-error">This is required.' in body
    assert 'value="Checks"' in body  # what was typed comes back
    assert len(_titles(draft.id)) == 3


def test_add_form_follows_the_chosen_action_type_when_type_changes(draft, lawyer_web) -> None:
    body = lawyer_web.get(
        f"/workflows/templates/{draft.id}/add-form?action_type=PAYMENT_CLIENT&title=Retainer"
        "&sections=basics&sections=type",
        htmx=True,
    ).get_data(as_text=True)
    assert 'name="config.amount"' in body and 'name="config.currency"' in body
    assert 'inputmode="decimal"' in body and "ISO 4217 code" in body
    assert 'name="config.items"' not in body
    assert 'value="Retainer"' in body


class RichConfig(ActionConfig):
    subject: str = Field(min_length=1, description="Subject line")
    retries: int = Field(default=2, ge=0, le=5)
    ratio: float = 0.5
    urgent: bool = False
    channel: Literal["email", "sms"] = "email"
    recipients: list[str] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict)


class RichHandler(ActionHandler):
    type = "test.rich"
    category = Category.INTEGRATION
    label = "Rich test action"
    description = "Sends a rich test message."
    automated = True
    Config = RichConfig
    example = {"subject": "Hello"}


@pytest.fixture
def rich_type() -> Iterator[str]:
    registry.register(RichHandler)
    yield RichHandler.type
    registry._HANDLERS.pop(RichHandler.type, None)


def test_inspector_renders_every_schema_kind_when_a_new_type_registers(
    draft, lawyer_web, rich_type
) -> None:
    body = lawyer_web.get(
        f"/workflows/templates/{draft.id}/add-form?action_type={rich_type}", htmx=True
    ).get_data(as_text=True)
    assert re.search(r'<input type="text" id="add-config-subject"', body)
    assert re.search(r'<input type="number" id="add-config-retries"[^>]*value="2"', body)
    assert re.search(r'<input type="text" id="add-config-ratio"[^>]*inputmode="decimal"', body)
    assert re.search(r'<input type="checkbox" id="add-config-urgent"', body)
    assert re.search(r'<select id="add-config-channel"[\s\S]*<option value="sms"', body)
    assert re.search(r'<textarea id="add-config-recipients"', body) and "one per line" in body
    assert re.search(r'<textarea id="add-config-headers"[^>]*class="mono"', body)
    assert "Rich test action" in body  # offered among the action types


def test_add_step_saves_typed_config_when_a_new_type_is_filled_in(
    draft, lawyer_web, rich_type
) -> None:
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps",
        data=_add(
            title="Notify",
            action_type=rich_type,
            role_scope="ADMIN",
            required="on",
            **{
                "config.subject": "Hello",
                "config.retries": "3",
                "config.ratio": "0.75",
                "config.urgent": "on",
                "config.channel": "sms",
                "config.recipients": "a@firm.test\n\nb@firm.test",
                "config.headers": '{"X-Matter": "DEMO-001"}',
            },
        ),
        htmx=True,
    )
    assert response.status_code == HTTPStatus.OK, response.get_data(as_text=True)[:500]
    step = db.session.scalar(select(TemplateStep).where(TemplateStep.title == "Notify"))
    assert step.action_config == {
        "subject": "Hello",
        "retries": 3,
        "ratio": 0.75,
        "urgent": True,
        "channel": "sms",
        "recipients": ["a@firm.test", "b@firm.test"],
        "headers": {"X-Matter": "DEMO-001"},
    }


def test_add_step_shows_json_error_beside_field_when_object_is_not_json(
    draft, lawyer_web, rich_type
) -> None:
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps",
        data=_add(
            title="Notify",
            action_type=rich_type,
            role_scope="ADMIN",
            **{"config_type": rich_type, "config.subject": "Hi", "config.headers": "{not json"},
        ),
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert 'id="actionConfig-headers-error">Enter valid JSON' in body
    assert len(_titles(draft.id)) == 3


def test_row_edit_saves_title_and_role_when_a_field_changes(draft, lawyer_web) -> None:
    step = draft.steps[1]
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/{step.id}/row",
        data={
            "sections": "basics",
            "title": "Partner sign-off",
            "role_scope": "ADMIN",
            "required": "on",
            "inspector_step": str(step.id),
        },
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert body.lstrip().startswith('<li class="step-row')
    assert 'value="Partner sign-off"' in body
    assert 'id="inspector" class="card inspector" hx-swap-oob="true"' in body
    db.session.expire_all()
    saved = db.session.get(TemplateStep, step.id)
    assert (saved.title, saved.role_scope, saved.key) == ("Partner sign-off", "ADMIN", "approve")
    assert _event_types(draft.id)[-1] == "template.step_updated"


def test_row_edit_shows_error_in_the_row_when_title_is_blank(draft, lawyer_web) -> None:
    step = draft.steps[0]
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/{step.id}/row",
        data={"sections": "basics", "title": " ", "role_scope": "PARALEGAL", "required": "on"},
        htmx=True,
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "Title must not be blank" in response.get_data(as_text=True)
    assert _titles(draft.id)[0] == "Intake call"


def test_settings_change_the_action_type_when_its_config_is_complete(draft, lawyer_web) -> None:
    step = draft.steps[0]
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/{step.id}/settings",
        data={
            "sections": ["type", "config", "advanced"],
            "action_type": "APPROVAL_LAWYER",
            "config.approverRole": "LAWYER",
            "config.message": "Proceed?",
            "depends_mode": "none",
            "due_in": "2 days",
            "condition": "",
        },
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert "Settings saved." in body and 'hx-swap-oob="true"' in body
    db.session.expire_all()
    saved = db.session.get(TemplateStep, step.id)
    assert saved.action_type == "APPROVAL_LAWYER"
    # Who approves is the step's role; the builder drops the old approverRole field.
    assert saved.action_config == {"message": "Proceed?"}
    assert (saved.depends_on, saved.due_in) == ([], "P2D")


def test_settings_show_error_beside_due_date_when_duration_is_invalid(draft, lawyer_web) -> None:
    step = draft.steps[0]
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/{step.id}/settings",
        data={
            "sections": ["type", "config", "advanced"],
            "action_type": "CHECKLIST",
            "config.items": "Call the client",
            "depends_mode": "previous",
            "due_in": "soon",
        },
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert 'id="dueIn-error">' in body and "is not a duration" in body
    assert 'value="soon"' in body
    db.session.expire_all()
    assert db.session.get(TemplateStep, step.id).due_in is None


def test_inspector_previews_another_type_without_saving_when_type_is_chosen(
    draft, lawyer_web
) -> None:
    step = draft.steps[0]
    body = lawyer_web.get(
        f"/workflows/templates/{draft.id}/inspector?step={step.id}&action_type=PAYMENT_CLIENT",
        htmx=True,
    ).get_data(as_text=True)
    assert "Changing this step to" in body and 'name="config.amount"' in body
    db.session.expire_all()
    assert db.session.get(TemplateStep, step.id).action_type == "CHECKLIST"


def test_reorder_rewrites_the_order_when_the_list_form_posts(draft, lawyer_web) -> None:
    ids = [s.id for s in draft.steps]
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/reorder",
        data={"step_id": [str(ids[2]), str(ids[0]), str(ids[1])]},
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert body.index("Proof of funds") < body.index("Intake call") < body.index('value="Approve"')
    assert _titles(draft.id) == ["Proof of funds", "Intake call", "Approve"]
    assert _event_types(draft.id)[-1] == "template.steps_reordered"


def test_reorder_is_refused_with_409_in_place_when_a_step_is_missing(draft, lawyer_web) -> None:
    ids = [s.id for s in draft.steps]
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/reorder",
        data={"step_id": [str(ids[1]), str(ids[0])]},
        htmx=True,
    )
    # A page that saw other steps than the draft has now: a conflict with the state.
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.headers["X-Matterflow-Error"] == "409"
    assert "have changed since they were read" in response.get_data(as_text=True)
    assert _titles(draft.id) == ["Intake call", "Approve", "Proof of funds"]


def test_reorder_is_refused_with_400_in_place_when_a_step_is_listed_twice(
    draft, lawyer_web
) -> None:
    ids = [s.id for s in draft.steps]
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/reorder",
        data={"step_id": [str(ids[1]), str(ids[1]), str(ids[0]), str(ids[2])]},
        htmx=True,
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.headers["X-Matterflow-Error"] == "400"
    assert "lists a step twice" in response.get_data(as_text=True)
    assert _titles(draft.id) == ["Intake call", "Approve", "Proof of funds"]


def test_move_up_reorders_like_a_drag_when_the_keyboard_is_used(draft, lawyer_web) -> None:
    step = draft.steps[2]
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/{step.id}/move?offset=-1", htmx=True
    )
    assert response.status_code == HTTPStatus.OK
    assert f'id="move-up-{step.id}"' in response.get_data(as_text=True)
    assert _titles(draft.id) == ["Intake call", "Proof of funds", "Approve"]


def test_remove_is_refused_with_the_dependent_marked_when_another_step_needs_it(
    demo, lawyer_web
) -> None:
    steps = _steps()
    steps[2] = steps[2].model_copy(update={"depends_on": ["intake"]})
    template = create_template(demo.user(Role.LAWYER), "Joined", steps)
    response = lawyer_web.post(
        f"/workflows/templates/{template.id}/steps/{template.steps[0].id}/remove", htmx=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "Other steps depend on" in body
    dependent = template.steps[2].id
    assert re.search(rf'step-row has-problems[^"]*" id="step-row-{dependent}"', body)
    assert len(_titles(template.id)) == 3


def test_remove_deletes_and_renumbers_when_nothing_depends_on_it(draft, lawyer_web) -> None:
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/{draft.steps[0].id}/remove", htmx=True
    )
    assert response.status_code == HTTPStatus.OK
    assert _titles(draft.id) == ["Approve", "Proof of funds"]
    db.session.expire_all()
    orders = db.session.scalars(
        select(TemplateStep.order)
        .where(TemplateStep.template_id == draft.id)
        .order_by(TemplateStep.order)
    )
    assert list(orders) == [1, 2]


def test_publish_from_builder_lists_problems_when_draft_is_empty(demo, lawyer_web) -> None:
    template = create_template(demo.user(Role.LAWYER), "Empty one", [])
    response = lawyer_web.post(
        f"/workflows/templates/{template.id}/publish", data={"view": "builder"}, htmx=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert body.lstrip().startswith('<section id="builder-steps"')
    assert "at least one step" in body and "Fix what is marked below" in body


def test_publish_from_builder_reloads_read_only_when_draft_is_valid(draft, lawyer_web) -> None:
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/publish", data={"view": "builder"}, htmx=True
    )
    assert response.headers["HX-Redirect"] == f"/workflows/templates/{draft.id}"
    page = lawyer_web.get(f"/workflows/templates/{draft.id}").get_data(as_text=True)
    assert "Published versions never change." in page and "Edit as new version" in page
    assert "data-sortable" not in page and 'name="title"' not in page


def test_step_edit_goes_to_a_new_draft_when_version_is_published(demo, lawyer_web) -> None:
    published = db.session.scalar(
        select(WorkflowTemplate).where(WorkflowTemplate.status == "PUBLISHED")
    )
    step = published.steps[0]
    response = lawyer_web.post(
        f"/workflows/templates/{published.id}/steps/{step.id}/row",
        data={
            "sections": "basics",
            "title": "Conflict search",
            "role_scope": "PARALEGAL",
            "required": "on",
        },
        htmx=True,
    )
    draft = db.session.scalar(
        select(WorkflowTemplate).where(
            WorkflowTemplate.key == published.key, WorkflowTemplate.version == 2
        )
    )
    assert response.headers["HX-Redirect"] == f"/workflows/templates/{draft.id}"
    assert draft.steps[0].title == "Conflict search"
    assert _titles(published.id)[0] == "Run conflict check"


def test_builder_edits_are_forbidden_when_paralegal_posts(demo, draft, login_as) -> None:
    response = login_as(demo.user(Role.PARALEGAL)).post(
        f"/workflows/templates/{draft.id}/steps",
        data=_add(title="Sneaky", action_type="APPROVAL_LAWYER", role_scope="LAWYER"),
        htmx=True,
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert len(_titles(draft.id)) == 3


def test_preview_warns_about_steps_that_never_start_when_they_wait_on_each_other(
    demo, lawyer_web
) -> None:
    steps = _steps()
    steps[1] = steps[1].model_copy(update={"depends_on": ["funds"]})
    steps[2] = steps[2].model_copy(update={"depends_on": ["approve"]})
    template = create_template(demo.user(Role.LAWYER), "Circular", steps)
    page = lawyer_web.get(f"/workflows/templates/{template.id}").get_data(as_text=True)
    assert "Never becomes ready:" in page
    assert "Approve (waits on Proof of funds)" in page


def test_publish_problems_are_placed_by_key_or_position_when_the_service_lists_them(
    draft,
) -> None:
    details = [
        {"step": 2, "key": "approve", "field": "dependsOn", "message": "cycle through funds"},
        {"step": 0, "field": "actionConfig.items", "message": "Field required"},
        {"field": "steps", "message": "no steps"},
    ]
    by_step, general = problems_by_step(details, draft.steps)
    assert by_step == {
        draft.steps[1].id: ["Depends on: Cycle through funds"],
        draft.steps[0].id: ["Items: This is required."],
    }
    assert general == ["No steps"]


def _row_problems(body: str, step_id: int) -> str:
    row = body[body.index(f'id="step-row-{step_id}"') :].split("</li>")[0]
    return row[row.index('class="row-problems"') :] if 'class="row-problems"' in row else ""


def test_publish_marks_every_graph_problem_beside_its_step_when_the_draft_has_several(
    demo, lawyer_web
) -> None:
    steps = _steps()
    steps[0] = steps[0].model_copy(update={"depends_on": ["ghost"]})  # unknown key
    steps[1] = steps[1].model_copy(update={"depends_on": ["funds"]})  # approve <-> funds
    steps[2] = steps[2].model_copy(
        update={"depends_on": ["approve"], "condition": "steps.approve.approved =="}
    )
    template = create_template(demo.user(Role.LAWYER), "Broken", steps)
    ids = [s.id for s in template.steps]
    response = lawyer_web.post(
        f"/workflows/templates/{template.id}/publish", data={"view": "builder"}, htmx=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "Fix what is marked below" in body
    assert "ghost" in _row_problems(body, ids[0])
    assert "cycle" in _row_problems(body, ids[1]).lower()
    funds = _row_problems(body, ids[2])
    assert "Condition:" in funds and "cycle" in funds.lower()
    db.session.expire_all()
    assert db.session.get(WorkflowTemplate, template.id).status == "DRAFT"


def test_advanced_settings_save_every_field_when_the_author_fills_them(draft, lawyer_web) -> None:
    step = draft.steps[2]
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps/{step.id}/settings",
        data={
            "sections": ["type", "config", "advanced"],
            "action_type": "REQUEST_DOC_CLIENT",
            "config.requestText": "A bank statement",
            "depends_mode": "steps",
            "depends_on": ["intake", "approve"],
            "condition": "steps.approve.approved == true",
            "on_failure": "intake",
            "due_in": "P3D",
            "retry_enabled": "on",
            "retry_max_attempts": "4",
            "retry_backoff_seconds": "5",
            "retry_backoff_factor": "3",
        },
        htmx=True,
    )
    assert response.status_code == HTTPStatus.OK, response.get_data(as_text=True)[:400]
    db.session.expire_all()
    saved = db.session.get(TemplateStep, step.id)
    assert saved.depends_on == ["intake", "approve"]
    assert saved.condition == "steps.approve.approved == true"
    assert (saved.on_failure, saved.due_in) == ("intake", "P3D")
    assert saved.retry == {"maxAttempts": 4, "backoffSeconds": 5.0, "backoffFactor": 3.0}


def test_advanced_section_offers_other_steps_keys_and_the_two_defaults_when_opened(
    draft, lawyer_web
) -> None:
    step = draft.steps[1]
    body = lawyer_web.get(
        f"/workflows/templates/{draft.id}/inspector?step={step.id}", htmx=True
    ).get_data(as_text=True)
    assert 'name="depends_mode" value="previous" checked' in body
    assert 'name="depends_mode" value="none"' in body
    assert 'value="intake"' in body and '<code class="key">funds</code>' in body
    assert 'value="approve"' not in body.split('name="on_failure"')[0]  # not itself


def test_add_step_shows_a_plain_sentence_beside_the_title_when_it_is_empty(
    draft, lawyer_web
) -> None:
    response = lawyer_web.post(
        f"/workflows/templates/{draft.id}/steps",
        data=_add(
            title="", action_type="CHECKLIST", role_scope="PARALEGAL", **{"config.items": "A"}
        ),
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert re.search(r'id="[a-z-]*title-error"[^>]*>\s*Enter a value\.', body), body
    assert "String should" not in body and "at least 1 character" not in body
    assert len(_titles(draft.id)) == 3
