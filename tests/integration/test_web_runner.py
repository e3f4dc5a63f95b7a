"""The runner: groups, who may act and why not, the action panels, and every step action
through HTMX — status, the fragments swapped, audit rows, and refusals that change nothing."""

import io
import re
from http import HTTPStatus

import pytest
from sqlalchemy import func, select

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document, InstanceStep, WorkflowEvent, WorkflowInstance
from webapp.services import instances, steps

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def instance(demo) -> WorkflowInstance:
    return db.session.scalar(select(WorkflowInstance))


def _step(key: str) -> InstanceStep:
    db.session.expire_all()
    return db.session.scalar(select(InstanceStep).where(InstanceStep.key == key))


def _events(step_id: int) -> list[tuple[str, str | None, int | None]]:
    rows = db.session.execute(
        select(WorkflowEvent.event_type, WorkflowEvent.new_status, WorkflowEvent.actor_id)
        .where(WorkflowEvent.step_id == step_id)
        .order_by(WorkflowEvent.id)
    )
    return [tuple(r) for r in rows]


def _event_count() -> int:
    return db.session.scalar(select(func.count()).select_from(WorkflowEvent))


def _runner(demo, instance: WorkflowInstance) -> str:
    return f"/matters/{demo.matter.id}/workflows/{instance.id}"


def _finish_checklist(demo) -> None:
    paralegal = demo.user(Role.PARALEGAL)
    step = _step("conflict_check")
    for item in step.action_config["items"]:
        steps.perform(paralegal, step.id, steps.Tick(item, True))


def _approve(demo) -> None:
    steps.perform(
        demo.user(Role.LAWYER), _step("engagement_approval").id, steps.Complete({"approved": True})
    )


def test_runner_groups_steps_and_says_who_may_act_when_lawyer_opens_it(
    demo, instance, login_as
) -> None:
    page = login_as(demo.user(Role.LAWYER)).get(_runner(demo, instance)).get_data(as_text=True)
    ready = page[page.index('id="group-ready"') : page.index('id="group-in-progress"')]
    assert "Run conflict check" in ready and "Pat Paralegal" in ready
    assert "Only the matter&#39;s paralegals can act on this step." in ready
    upcoming = page[page.index('id="group-pending"') : page.index('id="group-completed"')]
    assert "Approve engagement" in upcoming and "Waits for Run conflict check." in upcoming
    assert re.search(r'id="group-completed"[^>]*hidden', page)
    assert "Lee Lawyer</strong> started this workflow" in page
    assert "Edit steps" in page


def test_runner_shows_client_only_their_steps_when_client_opens_it(
    demo, instance, login_as
) -> None:
    page = login_as(demo.user(Role.CLIENT)).get(_runner(demo, instance)).get_data(as_text=True)
    assert "Upload proof of identity" in page and "Pay the retainer" in page
    assert "Run conflict check" not in page and "Approve engagement" not in page
    # The client's portal (templates/client_links/portal.html): their steps in plain words.
    assert "Nothing is asked of you right now." in page
    assert "Demo Law LLP is working on the next part" in page
    assert "Edit steps" not in page and "Audit trail" not in page


def test_runner_is_not_found_when_user_is_from_another_firm(
    demo, instance, login_as, second_firm
) -> None:
    response = login_as(second_firm["lawyer"]).get(_runner(demo, instance))
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_claim_swaps_only_changed_groups_status_and_audit_when_paralegal_claims(
    demo, instance, login_as
) -> None:
    step = _step("conflict_check")
    response = login_as(demo.user(Role.PARALEGAL)).post(f"/steps/{step.id}/claim", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    swapped = re.findall(r'<(\w+)[^>]*id="([\w-]+)"[^>]*hx-swap-oob="true"', body)
    assert {i for _tag, i in swapped} == {
        "instance-status",
        "runner-actions",
        "instance-progress",
        "group-ready",
        "group-in-progress",
        "audit-trail",
    }
    assert re.search(r'id="group-ready"[^>]*hidden', body)
    assert "Claimed by</span> you" in body
    assert "Pat Paralegal</strong> claimed" in body
    assert _step("conflict_check").action_state == "IN_PROGRESS"
    assert _events(step.id)[-1] == ("step.claim", "IN_PROGRESS", demo.user(Role.PARALEGAL).id)


def test_ticking_the_last_item_completes_the_step_and_readies_the_next_when_paralegal_ticks(
    demo, instance, login_as
) -> None:
    web = login_as(demo.user(Role.PARALEGAL))
    step = _step("conflict_check")
    items = step.action_config["items"]
    for count, item in enumerate(items, start=1):
        response = web.post(
            f"/steps/{step.id}/tick", data={"item": item, "checked": items[:count]}, htmx=True
        )
        assert response.status_code == HTTPStatus.OK
    body = response.get_data(as_text=True)
    assert 'id="group-completed"' in body and "3 of 3 done" in body
    assert 'id="group-pending"' in body and 'id="group-ready"' in body
    assert _step("conflict_check").action_state == "COMPLETED"
    assert _step("engagement_approval").action_state == "READY"
    assert [e[0] for e in _events(step.id)] == ["step.activate", "step.start", "step.complete"]


def test_unticking_saves_the_item_when_paralegal_changes_their_mind(
    demo, instance, login_as
) -> None:
    web = login_as(demo.user(Role.PARALEGAL))
    step = _step("conflict_check")
    first = step.action_config["items"][0]
    web.post(f"/steps/{step.id}/tick", data={"item": first, "checked": first}, htmx=True)
    body = web.post(f"/steps/{step.id}/tick", data={"item": first}, htmx=True).get_data(
        as_text=True
    )
    assert "0 of 3 done" in body
    assert _step("conflict_check").action_data["checkedItems"] == []


def test_approve_with_comment_completes_and_audits_the_decision_when_lawyer_approves(
    demo, instance, login_as
) -> None:
    _finish_checklist(demo)
    step = _step("engagement_approval")
    response = login_as(demo.user(Role.LAWYER)).post(
        f"/steps/{step.id}/complete", data={"approved": "true", "comment": "Fine by me"}, htmx=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert "Approved: Fine by me" in body  # the audit trail's note
    assert _step("engagement_approval").action_data["approved"] is True
    complete = db.session.scalar(
        select(WorkflowEvent).where(
            WorkflowEvent.step_id == step.id, WorkflowEvent.event_type == "step.complete"
        )
    )
    assert complete.payload["comment"] == "Fine by me"
    assert complete.actor_id == demo.user(Role.LAWYER).id


def test_reject_records_the_decision_when_lawyer_rejects(demo, instance, login_as) -> None:
    _finish_checklist(demo)
    step = _step("engagement_approval")
    login_as(demo.user(Role.LAWYER)).post(
        f"/steps/{step.id}/complete", data={"approved": "false"}, htmx=True
    )
    assert _step("engagement_approval").action_data["approved"] is False


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.CLIENT, HTTPStatus.NOT_FOUND), (Role.PARALEGAL, HTTPStatus.FORBIDDEN)],
)
def test_approval_is_refused_and_nothing_changes_when_someone_else_posts_it(
    demo, instance, login_as, role, status
) -> None:
    _finish_checklist(demo)
    step = _step("engagement_approval")
    before = _event_count()
    response = login_as(demo.user(role)).post(
        f"/steps/{step.id}/complete", data={"approved": "true"}, htmx=True
    )
    assert response.status_code == status  # a client does not see the firm's steps
    assert response.headers["X-Matterflow-Error"] == str(status.value)
    assert _step("engagement_approval").action_state == "READY"
    assert _event_count() == before


def test_approval_controls_are_absent_when_paralegal_views_the_step(
    demo, instance, login_as
) -> None:
    _finish_checklist(demo)
    page = login_as(demo.user(Role.PARALEGAL)).get(_runner(demo, instance)).get_data(as_text=True)
    assert "Approve engagement" in page and "Waiting for the approver" in page
    assert 'value="true">Approve</button>' not in page


def test_fail_needs_a_reason_and_shows_it_in_the_card_when_reason_is_blank(
    demo, instance, login_as
) -> None:
    step = _step("conflict_check")
    web = login_as(demo.user(Role.PARALEGAL))
    web.post(f"/steps/{step.id}/claim", htmx=True)
    response = web.post(f"/steps/{step.id}/fail", data={"reason": " "}, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert body.lstrip().startswith('<article class="step-card')
    assert "Give a reason." in body
    assert _step("conflict_check").action_state == "IN_PROGRESS"


def test_block_then_unblock_moves_the_step_between_groups_when_paralegal_acts(
    demo, instance, login_as
) -> None:
    step = _step("conflict_check")
    web = login_as(demo.user(Role.PARALEGAL))
    web.post(f"/steps/{step.id}/claim", htmx=True)
    body = web.post(
        f"/steps/{step.id}/block", data={"reason": "Waiting on the client"}, htmx=True
    ).get_data(as_text=True)
    assert 'id="group-blocked"' in body and "Reason: Waiting on the client" in body
    assert _step("conflict_check").action_state == "BLOCKED"
    web.post(f"/steps/{step.id}/unblock", htmx=True)
    assert _step("conflict_check").action_state == "IN_PROGRESS"


def test_skip_is_offered_to_admins_and_skips_when_admin_confirms(demo, instance, login_as) -> None:
    web = login_as(demo.user(Role.ADMIN))
    page = web.get(_runner(demo, instance)).get_data(as_text=True)
    assert 'hx-confirm="Skip “Run conflict check”?' in page
    step = _step("conflict_check")
    web.post(f"/steps/{step.id}/skip", htmx=True)
    assert _step("conflict_check").action_state == "SKIPPED"
    assert _events(step.id)[-1][0] == "step.skip"


def test_stale_action_is_a_conflict_shown_in_place_when_step_is_already_done(
    demo, instance, login_as
) -> None:
    _finish_checklist(demo)
    step = _step("conflict_check")
    response = login_as(demo.user(Role.PARALEGAL)).post(f"/steps/{step.id}/claim", htmx=True)
    assert response.status_code == HTTPStatus.CONFLICT
    assert "already COMPLETED" in response.get_data(as_text=True)


def _ready_for_upload(demo) -> InstanceStep:
    _finish_checklist(demo)
    _approve(demo)
    return _step("identity_documents")


def test_upload_completes_and_lists_the_file_when_client_sends_a_pdf(
    demo, instance, login_as
) -> None:
    step = _ready_for_upload(demo)
    web = login_as(demo.user(Role.CLIENT))
    page = web.get(_runner(demo, instance)).get_data(as_text=True)
    assert "PDF, PNG, JPG · up to 20.0 MB each" in page
    assert 'accept=".pdf,.png,.jpg"' in page
    response = web.post(
        f"/steps/{step.id}/upload",
        data={"file": (io.BytesIO(PDF), "passport.pdf", "application/pdf")},
        htmx=True,
        content_type="multipart/form-data",
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert "passport.pdf" in body and "Files: passport.pdf" in body
    assert _step("identity_documents").action_state == "COMPLETED"
    document = db.session.scalar(select(Document).where(Document.step_id.is_not(None)))
    download = web.get(f"/documents/{document.id}")
    assert download.status_code == HTTPStatus.OK and download.data == PDF
    assert "passport.pdf" in download.headers["Content-Disposition"]


def _uploaded(demo) -> Document:
    step = _ready_for_upload(demo)
    upload = steps.IncomingFile("passport.pdf", "application/pdf", PDF)
    steps.perform(demo.user(Role.CLIENT), step.id, steps.Upload([upload]))
    return db.session.scalar(select(Document).where(Document.step_id.is_not(None)))


def test_document_downloads_when_a_lawyer_on_the_matter_asks(demo, instance, login_as) -> None:
    document = _uploaded(demo)
    web = login_as(demo.user(Role.LAWYER))
    page = web.get(_runner(demo, instance)).get_data(as_text=True)
    assert f'href="/documents/{document.id}"' in page
    download = web.get(f"/documents/{document.id}")
    assert download.status_code == HTTPStatus.OK and download.data == PDF


def test_document_is_not_found_when_someone_from_another_firm_asks(
    demo, instance, login_as, second_firm
) -> None:
    document = _uploaded(demo)
    response = login_as(second_firm["lawyer"]).get(f"/documents/{document.id}")
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_upload_is_refused_in_the_card_when_file_type_is_not_accepted(
    demo, instance, login_as
) -> None:
    step = _ready_for_upload(demo)
    response = login_as(demo.user(Role.CLIENT)).post(
        f"/steps/{step.id}/upload",
        data={"file": (io.BytesIO(b"plain text"), "notes.txt", "text/plain")},
        htmx=True,
        content_type="multipart/form-data",
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "only pdf, png, jpg files are accepted" in response.get_data(as_text=True)
    assert _step("identity_documents").action_state == "READY"
    assert (
        db.session.scalar(
            select(func.count()).select_from(Document).where(Document.step_id.is_not(None))
        )
        == 0
    )


def test_plain_form_post_redirects_back_with_a_message_when_javascript_is_off(
    demo, instance, login_as
) -> None:
    step = _step("conflict_check")
    response = login_as(demo.user(Role.PARALEGAL)).post(f"/steps/{step.id}/claim")
    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response.headers["Location"] == _runner(demo, instance)


def test_runner_explains_and_offers_no_actions_when_the_workflow_is_paused(
    demo, instance, login_as
) -> None:
    instances.change_status(demo.user(Role.LAWYER), instance.id, "Paused")
    page = login_as(demo.user(Role.PARALEGAL)).get(_runner(demo, instance)).get_data(as_text=True)
    assert "This workflow is paused" in page and "Paused by Lee Lawyer" in page
    assert "Nothing can be done here while the workflow is paused." in page
    assert "Claim for me" not in page and re.search(r'id="step-\d+-item-1"[^>]*disabled', page)
