"""The instance editor: the matter's owner or an admin edits a running workflow; anyone
else sees no controls and a direct POST gets 403 with nothing changed."""

from http import HTTPStatus

import pytest
from sqlalchemy import func, select

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceChange, InstanceStep, WorkflowInstance


@pytest.fixture
def instance(demo) -> WorkflowInstance:
    return db.session.scalar(select(WorkflowInstance))


def _editor(demo, instance: WorkflowInstance) -> str:
    return f"/matters/{demo.matter.id}/workflows/{instance.id}/edit"


def _titles() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(InstanceStep.title).order_by(InstanceStep.order)))


def _changes() -> list[str]:
    return list(db.session.scalars(select(InstanceChange.change_type).order_by(InstanceChange.id)))


def test_editor_shows_rows_and_settings_when_the_owner_opens_it(demo, instance, login_as) -> None:
    page = login_as(demo.user(Role.LAWYER)).get(_editor(demo, instance)).get_data(as_text=True)
    assert page.count('<li class="step-row') == 5
    assert 'id="inspector"' in page and 'name="config.items"' in page
    assert "data-sortable" in page


@pytest.mark.parametrize("role", [Role.PARALEGAL, Role.CLIENT])
def test_editor_is_forbidden_when_someone_else_opens_it(demo, instance, login_as, role) -> None:
    web = login_as(demo.user(role))
    assert web.get(_editor(demo, instance)).status_code == HTTPStatus.FORBIDDEN
    runner = web.get(f"/matters/{demo.matter.id}/workflows/{instance.id}").get_data(as_text=True)
    assert "Edit steps" not in runner


def test_direct_edit_post_is_forbidden_and_changes_nothing_when_paralegal_sends_it(
    demo, instance, login_as
) -> None:
    step = instance.steps[1]
    response = login_as(demo.user(Role.PARALEGAL)).post(
        f"{_editor(demo, instance)}/steps/{step.id}/row",
        data={"sections": "basics", "title": "Hijacked", "role_scope": "PARALEGAL"},
        htmx=True,
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "Hijacked" not in _titles() and _changes() == ["created"]


def test_row_edit_renames_the_step_and_records_history_when_owner_changes_it(
    demo, instance, login_as
) -> None:
    step = instance.steps[1]
    response = login_as(demo.user(Role.LAWYER)).post(
        f"{_editor(demo, instance)}/steps/{step.id}/row",
        data={
            "sections": "basics",
            "title": "Partner approval",
            "role_scope": "LAWYER",
            "required": "on",
        },
        htmx=True,
    )
    assert response.status_code == HTTPStatus.OK
    assert 'value="Partner approval"' in response.get_data(as_text=True)
    assert _titles()[1] == "Partner approval"
    assert _changes()[-1] == "step_modified"


def test_settings_change_the_config_when_owner_saves_them(demo, instance, login_as) -> None:
    step = instance.steps[0]
    response = login_as(demo.user(Role.LAWYER)).post(
        f"{_editor(demo, instance)}/steps/{step.id}/settings",
        data={
            "sections": ["config", "advanced"],
            "config_type": "CHECKLIST",
            "config.items": "Search clients\nSearch parties",
            "depends_mode": "previous",
        },
        htmx=True,
    )
    assert response.status_code == HTTPStatus.OK
    assert "Settings saved." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(InstanceStep, step.id).action_config == {
        "items": ["Search clients", "Search parties"]
    }


def test_settings_show_the_error_beside_the_field_when_config_is_invalid(
    demo, instance, login_as
) -> None:
    step = instance.steps[0]
    response = login_as(demo.user(Role.LAWYER)).post(
        f"{_editor(demo, instance)}/steps/{step.id}/settings",
        data={"sections": ["config"], "config_type": "CHECKLIST", "config.items": ""},
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert 'id="actionConfig-items-error">This is required.' in body


def test_add_step_appends_it_to_the_running_workflow_when_owner_adds_one(
    demo, instance, login_as
) -> None:
    response = login_as(demo.user(Role.LAWYER)).post(
        f"{_editor(demo, instance)}/steps",
        data={
            "sections": ["basics", "type", "config", "advanced"],
            "title": "File the claim",
            "action_type": "APPROVAL_LAWYER",
            "role_scope": "LAWYER",
            "required": "on",
            "depends_mode": "previous",
        },
        htmx=True,
    )
    assert response.status_code == HTTPStatus.OK
    assert _titles()[-1] == "File the claim"
    assert _changes()[-1] == "step_added"


def test_reorder_and_remove_rewrite_the_workflow_when_owner_edits_it(
    demo, instance, login_as
) -> None:
    web = login_as(demo.user(Role.LAWYER))
    ids = [s.id for s in instance.steps]
    new_order = [ids[0], ids[2], ids[1], ids[3], ids[4]]
    web.post(
        f"{_editor(demo, instance)}/steps/reorder",
        data={"step_id": [str(i) for i in new_order]},
        htmx=True,
    )
    assert _titles()[1:3] == ["Upload proof of identity", "Approve engagement"]
    web.post(f"{_editor(demo, instance)}/steps/{ids[4]}/move?offset=-1", htmx=True)
    assert _titles()[-2:] == ["Pay the retainer", "Sign the engagement letter"]
    response = web.post(f"{_editor(demo, instance)}/steps/{ids[3]}/remove", htmx=True)
    assert response.status_code == HTTPStatus.OK
    assert "Sign the engagement letter" not in _titles()
    assert _changes()[-3:] == ["step_reordered", "step_reordered", "step_removed"]
    assert db.session.scalar(select(func.count()).select_from(InstanceStep)) == 4


def test_add_step_shows_a_plain_sentence_beside_the_title_when_it_is_empty(
    demo, instance, login_as
) -> None:
    response = login_as(demo.user(Role.LAWYER)).post(
        f"{_editor(demo, instance)}/steps",
        data={
            "sections": ["basics", "type", "config", "advanced"],
            "title": "",
            "action_type": "APPROVAL_LAWYER",
            "role_scope": "LAWYER",
            "depends_mode": "previous",
        },
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert 'id="title-error">Enter a value.' in body
    assert "String should" not in body
    assert _changes() == ["created"]
