"""Forms a person can trust: a double submit or a retried request changes things once.
Every form carries a one-use `form_token`; HTMX requests carry an `Idempotency-Key`; the
token is recorded in the commit of the change, and the same token again is answered as
the first was and changes nothing."""

import re
from http import HTTPStatus
from typing import Any

import pytest
from sqlalchemy import func, select

from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import FormToken, TemplateStep, WorkflowInstance, WorkflowTemplate
from webapp.services import form_tokens
from webapp.services.templates import create_template

KEY = "double-click-0123456789"


@pytest.fixture
def lawyer(demo, login_as) -> Any:
    return login_as(demo.user(Role.LAWYER))


@pytest.fixture
def draft(demo) -> WorkflowTemplate:
    first = StepDefinition(
        key="intake", title="Intake", action_type="CHECKLIST", action_config={"items": ["Call"]}
    )
    return create_template(demo.user(Role.LAWYER), "Tokens", [first])


def _instances(matter_id: int) -> int:
    db.session.commit()
    return db.session.scalar(
        select(func.count())
        .select_from(WorkflowInstance)
        .where(WorkflowInstance.matter_id == matter_id)
    )


def _steps(template_id: int) -> list[str]:
    db.session.commit()
    return list(
        db.session.scalars(
            select(TemplateStep.title)
            .where(TemplateStep.template_id == template_id)
            .order_by(TemplateStep.order)
        )
    )


def _start_form(web: Any, matter_id: int) -> dict[str, str]:
    page = web.get(f"/matters/{matter_id}/workflows").get_data(as_text=True)
    form = re.search(r'<section id="start-workflow".*?</form>', page, re.S).group(0)
    template = db.session.scalar(
        select(WorkflowTemplate).where(WorkflowTemplate.status == "PUBLISHED")
    )
    token = re.search(r'name="form_token" value="([^"]+)"', form).group(1)
    return {"template_id": str(template.id), "title": "Onboarding again", "form_token": token}


def _add(title: str) -> dict[str, Any]:
    return {
        "sections": ["basics", "type", "config"],
        "title": title,
        "action_type": "CHECKLIST",
        "role_scope": "LAWYER",
        "config.items": "Do it",
    }


def test_start_workflow_creates_one_instance_when_the_form_is_submitted_twice(demo, lawyer) -> None:
    before = _instances(demo.matter.id)
    form = _start_form(lawyer, demo.matter.id)
    first = lawyer.post(f"/matters/{demo.matter.id}/workflows", data=form)
    second = lawyer.post(f"/matters/{demo.matter.id}/workflows", data=form)
    assert first.status_code == second.status_code == HTTPStatus.SEE_OTHER
    assert second.headers["Location"] == first.headers["Location"]  # answered as the first
    assert _instances(demo.matter.id) == before + 1
    runner = lawyer.get(second.headers["Location"]).get_data(as_text=True)
    assert "This was already done; nothing was changed again." in runner


def test_start_workflow_creates_one_instance_when_htmx_sends_the_same_key_twice(
    demo, lawyer
) -> None:
    before = _instances(demo.matter.id)
    form = {**_start_form(lawyer, demo.matter.id), "form_token": ""}
    answers = [
        lawyer.post(
            f"/matters/{demo.matter.id}/workflows",
            data=form,
            htmx=True,
            headers={"Idempotency-Key": KEY},
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [HTTPStatus.OK, HTTPStatus.OK]
    assert answers[1].headers["HX-Redirect"] == answers[0].headers["HX-Redirect"]
    assert _instances(demo.matter.id) == before + 1


def test_start_workflow_creates_two_instances_when_two_forms_are_sent(demo, lawyer) -> None:
    before = _instances(demo.matter.id)
    for _ in range(2):
        lawyer.post(
            f"/matters/{demo.matter.id}/workflows", data=_start_form(lawyer, demo.matter.id)
        )
    assert _instances(demo.matter.id) == before + 2


def test_add_step_creates_one_step_when_htmx_sends_the_same_key_twice(draft, lawyer) -> None:
    url = f"/workflows/templates/{draft.id}/steps"
    headers = {"Idempotency-Key": KEY}
    first = lawyer.post(url, data=_add("Collect funds"), htmx=True, headers=headers)
    second = lawyer.post(url, data=_add("Collect funds"), htmx=True, headers=headers)
    assert first.status_code == HTTPStatus.OK and 'id="add-step"' in first.get_data(as_text=True)
    assert second.status_code == HTTPStatus.OK
    assert second.headers["HX-Refresh"] == "true"  # the page as it is now
    assert _steps(draft.id) == ["Intake", "Collect funds"]
    page = lawyer.get(f"/workflows/templates/{draft.id}").get_data(as_text=True)
    assert "This was already done" in page


def test_add_step_keeps_the_token_usable_when_the_first_try_was_refused(draft, lawyer) -> None:
    url = f"/workflows/templates/{draft.id}/steps"
    headers = {"Idempotency-Key": KEY}
    refused = lawyer.post(url, data=_add(" "), htmx=True, headers=headers)
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert db.session.get(FormToken, KEY) is None  # nothing changed, nothing recorded
    accepted = lawyer.post(url, data=_add("Fixed title"), htmx=True, headers=headers)
    assert accepted.status_code == HTTPStatus.OK and "HX-Refresh" not in accepted.headers
    assert _steps(draft.id) == ["Intake", "Fixed title"]


def test_add_step_rolls_back_the_second_change_when_both_passed_the_check_at_once(
    draft, lawyer, monkeypatch
) -> None:
    """A double click whose two requests both find the token unused: the second commit
    meets the first one's token row and keeps nothing."""
    url = f"/workflows/templates/{draft.id}/steps"
    headers = {"Idempotency-Key": KEY}
    assert lawyer.post(url, data=_add("Once"), htmx=True, headers=headers).status_code == 200
    monkeypatch.setattr(form_tokens, "find", lambda user, token: None)  # the racing check
    second = lawyer.post(url, data=_add("Once"), htmx=True, headers=headers)
    assert second.status_code == HTTPStatus.OK, second.get_data(as_text=True)
    assert _steps(draft.id) == ["Intake", "Once"], second.get_data(as_text=True)[:3000]
    assert second.headers["HX-Refresh"] == "true"
    assert _steps(draft.id) == ["Intake", "Once"]


def test_token_is_recorded_with_the_user_and_the_answer_when_a_form_changes_something(
    demo, lawyer
) -> None:
    form = _start_form(lawyer, demo.matter.id)
    answer = lawyer.post(f"/matters/{demo.matter.id}/workflows", data=form)
    db.session.commit()
    row = db.session.get(FormToken, form["form_token"])
    assert row.user_id == demo.user(Role.LAWYER).id
    assert row.path == f"/matters/{demo.matter.id}/workflows"
    assert row.location == answer.headers["Location"]


def test_every_form_of_the_builder_carries_its_own_token(draft, lawyer) -> None:
    page = lawyer.get(f"/workflows/templates/{draft.id}").get_data(as_text=True)
    forms = re.findall(r"<form\b.*?</form>", page, re.S)
    posting = [f for f in forms if 'method="post"' in f and "/logout" not in f]
    tokens = [re.search(r'name="form_token" value="([^"]+)"', f) for f in posting]
    assert posting and all(tokens)
    assert len({t.group(1) for t in tokens}) == len(tokens)
