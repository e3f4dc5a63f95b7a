"""The runner's lifecycle controls: start, pause, resume and cancel (with its confirmation
dialog), who sees them, the regions swapped in place, the audit rows, and refusals
(403, a stale page's 409, a 400 for a status nobody may ask for) that change nothing."""

import re
from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.integration.support import snapshot
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import WorkflowEvent, WorkflowInstance, WorkflowTemplate
from webapp.services import instances
from webapp.web.htmx import INLINE_ERROR_HEADER


@pytest.fixture
def instance(demo) -> WorkflowInstance:
    return db.session.scalar(select(WorkflowInstance))


def _runner(instance: WorkflowInstance) -> str:
    return f"/matters/{instance.matter_id}/workflows/{instance.id}"


def _status_events(instance_id: int) -> list[tuple[str, str, int | None, dict]]:
    rows = db.session.execute(
        select(
            WorkflowEvent.old_status,
            WorkflowEvent.new_status,
            WorkflowEvent.actor_id,
            WorkflowEvent.payload,
        )
        .where(
            WorkflowEvent.instance_id == instance_id,
            WorkflowEvent.event_type == "instance.status_changed",
        )
        .order_by(WorkflowEvent.id)
    )
    return [tuple(r) for r in rows]


def _status(instance_id: int) -> str:
    db.session.expire_all()
    return db.session.get(WorkflowInstance, instance_id).status


def _swapped(body: str) -> set[str]:
    return set(re.findall(r'id="([\w-]+)"[^>]*hx-swap-oob="true"', body))


def test_owner_sees_pause_and_cancel_when_the_workflow_runs(demo, instance, login_as) -> None:
    page = login_as(demo.user(Role.LAWYER)).get(_runner(instance)).get_data(as_text=True)
    controls = page[page.index('id="runner-actions"') : page.index('id="instance-progress"')]
    assert "Pause workflow" in controls and "Cancel workflow…" in controls
    assert "Resume workflow" not in controls and "Start workflow" not in controls
    assert '<dialog id="cancel-dialog"' in controls
    assert "Are you sure? This stops every open step" in controls
    assert '<dialog id="cancel-dialog" class="dialog"' in controls and " open>" not in controls


def test_people_who_may_not_change_it_see_no_controls_when_they_open_the_runner(
    demo, instance, login_as
) -> None:
    for role in (Role.PARALEGAL, Role.CLIENT):
        page = login_as(demo.user(role)).get(_runner(instance)).get_data(as_text=True)
        assert "Pause workflow" not in page and "cancel-dialog" not in page


def test_pause_swaps_status_controls_groups_and_audit_when_owner_pauses(
    demo, instance, login_as
) -> None:
    lawyer = demo.user(Role.LAWYER)
    response = login_as(lawyer).post(
        f"{_runner(instance)}/status", data={"status": "Paused", "seen": "Running"}, htmx=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert {"instance-status", "runner-actions", "instance-progress", "audit-trail"} <= _swapped(
        body
    )
    assert "group-ready" in _swapped(body)  # every step's actions changed
    assert re.search(r'id="instance-status"[^>]*>Paused<', body)
    assert "Resume workflow" in body and "Pause workflow" not in body
    assert "no step can change until it is resumed" in body
    assert f"Paused by {lawyer.name}" in body
    assert _status(instance.id) == "Paused"
    assert _status_events(instance.id)[-1] == ("Running", "Paused", lawyer.id, {})


def test_resume_runs_the_workflow_again_when_owner_resumes_it(demo, instance, login_as) -> None:
    lawyer = demo.user(Role.LAWYER)
    instances.change_status(lawyer, instance.id, "Paused")
    response = login_as(lawyer).post(
        f"{_runner(instance)}/status", data={"status": "Running", "seen": "Paused"}, htmx=True
    )
    assert response.status_code == HTTPStatus.OK
    assert "Pause workflow" in response.get_data(as_text=True)
    assert _status(instance.id) in ("Running", "WaitingForInput")
    assert ("Paused", "Running", lawyer.id, {}) in _status_events(instance.id)


def test_cancel_records_the_reason_and_explains_it_when_admin_confirms(
    demo, instance, login_as
) -> None:
    admin = demo.user(Role.ADMIN)
    response = login_as(admin).post(
        f"{_runner(instance)}/status",
        data={"status": "Cancelled", "seen": "Running", "reason": "Client withdrew"},
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert re.search(r'id="instance-status"[^>]*>Cancelled<', body)
    assert "Cancel workflow…" not in body and "Edit steps" not in body
    assert f"Cancelled by {admin.name}" in body and "“Client withdrew”" in body
    assert "Reason: Client withdrew" in body  # the audit trail's note
    assert _status(instance.id) == "Cancelled"
    assert _status_events(instance.id)[-1] == (
        "Running",
        "Cancelled",
        admin.id,
        {"reason": "Client withdrew"},
    )


def test_start_makes_the_first_step_ready_when_the_workflow_was_created_unstarted(
    demo, login_as
) -> None:
    lawyer = demo.user(Role.LAWYER)
    template = db.session.scalar(select(WorkflowTemplate))
    created, _new = instances.instantiate(
        lawyer, template.id, demo.matter.id, title="Later", start=False
    )
    web = login_as(lawyer)
    page = web.get(_runner(created)).get_data(as_text=True)
    assert "Start workflow" in page and "has not been started yet" in page
    response = web.post(
        f"{_runner(created)}/status", data={"status": "Running", "seen": "Created"}, htmx=True
    )
    assert response.status_code == HTTPStatus.OK
    assert _status(created.id) == "Running"
    assert "Run conflict check" in response.get_data(as_text=True).split('id="group-ready"')[1]


def test_pause_is_forbidden_and_changes_nothing_when_paralegal_posts(
    demo, instance, login_as
) -> None:
    before = snapshot()
    response = login_as(demo.user(Role.PARALEGAL)).post(
        f"{_runner(instance)}/status", data={"status": "Paused", "seen": "Running"}, htmx=True
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.headers[INLINE_ERROR_HEADER] == "403"
    assert snapshot() == before


def test_stale_button_is_a_conflict_shown_in_place_when_someone_paused_it_first(
    demo, instance, login_as
) -> None:
    instances.change_status(demo.user(Role.ADMIN), instance.id, "Paused")
    before = snapshot()
    response = login_as(demo.user(Role.LAWYER)).post(
        f"{_runner(instance)}/status",
        data={"status": "Cancelled", "seen": "Running", "reason": "late"},
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.headers["HX-Reswap"] == "none"
    assert "Someone changed this first" in body and "now Paused" in body
    assert snapshot() == before


def test_a_status_nobody_may_ask_for_is_refused_in_place_when_posted(
    demo, instance, login_as
) -> None:
    before = snapshot()
    response = login_as(demo.user(Role.LAWYER)).post(
        f"{_runner(instance)}/status", data={"status": "Completed", "seen": "Running"}, htmx=True
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "set by the engine" in response.get_data(as_text=True)
    assert snapshot() == before


def test_plain_form_post_redirects_back_with_a_message_when_javascript_is_off(
    demo, instance, login_as
) -> None:
    web = login_as(demo.user(Role.LAWYER))
    response = web.post(f"{_runner(instance)}/status", data={"status": "Paused"})
    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response.headers["Location"] == _runner(instance)
    assert "The workflow is paused." in web.get(_runner(instance)).get_data(as_text=True)


def test_cancel_dialog_is_open_on_the_page_when_asked_for_without_javascript(
    demo, instance, login_as
) -> None:
    page = (
        login_as(demo.user(Role.LAWYER))
        .get(f"{_runner(instance)}?confirm=cancel")
        .get_data(as_text=True)
    )
    assert re.search(r'<dialog id="cancel-dialog"[^>]*\sopen>', page)
