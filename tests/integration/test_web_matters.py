"""/matters and a matter's Workflows tab: who sees which matter, each matter's workflow
status at a glance, opening a matter, starting a workflow, and the matter's lifecycle
(close, archive, reopen, and an admin's confirmed delete)."""

import re
from http import HTTPStatus

from sqlalchemy import select

from tests.integration.support import count, snapshot
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, WorkflowEvent, WorkflowInstance, WorkflowTemplate
from webapp.services import instances


def test_matters_list_shows_the_firm_matters_when_lawyer_searches(
    demo, login_as, make_matter
) -> None:
    lawyer = demo.user(Role.LAWYER)
    make_matter(lawyer, reference="EST-77")
    web = login_as(lawyer)
    page = web.get("/matters").get_data(as_text=True)
    assert "DEMO-001" in page and "EST-77" in page
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


def _row(page: str, reference: str) -> str:
    return page[page.index(reference) :].split("</tr>")[0]


def test_matters_list_sums_up_each_matter_s_workflows_when_they_differ(demo, login_as) -> None:
    lawyer = demo.user(Role.LAWYER)
    template = db.session.scalar(select(WorkflowTemplate))
    paused, _new = instances.instantiate(lawyer, template.id, demo.matter.id, title="Second")
    instances.change_status(lawyer, paused.id, "Paused")
    page = login_as(lawyer).get("/matters").get_data(as_text=True)
    row = _row(page, "DEMO-001")
    assert re.search(r'class="badge badge-neutral">Paused<', row)  # the most pressing status
    assert "<span>1 paused</span><span>1 running</span>" in row


def test_matters_list_says_none_yet_when_a_matter_has_no_workflow(
    demo, login_as, make_matter
) -> None:
    make_matter(demo.user(Role.LAWYER), reference="NEW-1")
    page = login_as(demo.user(Role.LAWYER)).get("/matters").get_data(as_text=True)
    assert "None yet" in _row(page, "NEW-1")


# ---- opening a matter ---------------------------------------------------------------------


def test_new_matter_form_is_offered_to_staff_only_when_they_open_the_list(demo, login_as) -> None:
    lawyer_page = login_as(demo.user(Role.LAWYER)).get("/matters").get_data(as_text=True)
    assert 'id="create-matter"' in lawyer_page and "Lee Lawyer (you)" in lawyer_page
    paralegal_page = login_as(demo.user(Role.PARALEGAL)).get("/matters").get_data(as_text=True)
    assert 'id="create-matter"' not in paralegal_page and "New matter" not in paralegal_page


def test_opening_a_matter_redirects_to_it_and_audits_when_a_lawyer_fills_the_form(
    demo, login_as
) -> None:
    lawyer = demo.user(Role.LAWYER)
    response = login_as(lawyer).post(
        "/matters", data={"reference": "EST-2025-014", "title": "Estate of H. Morgan"}, htmx=True
    )
    matter = db.session.scalar(select(Matter).where(Matter.reference == "EST-2025-014"))
    assert response.headers["HX-Redirect"] == f"/matters/{matter.id}/workflows"
    assert (matter.title, matter.owner_id, matter.status) == (
        "Estate of H. Morgan",
        lawyer.id,
        "OPEN",
    )
    event = db.session.scalar(select(WorkflowEvent).where(WorkflowEvent.matter_id == matter.id))
    assert (event.event_type, event.actor_id) == ("matter.created", lawyer.id)


def test_admin_opens_a_matter_for_a_lawyer_when_choosing_the_responsible_lawyer(
    demo, login_as
) -> None:
    lawyer = demo.user(Role.LAWYER)
    login_as(demo.user(Role.ADMIN)).post(
        "/matters",
        data={"reference": "ADM-1", "title": "Set up by admin", "owner_id": str(lawyer.id)},
        htmx=True,
    )
    matter = db.session.scalar(select(Matter).where(Matter.reference == "ADM-1"))
    assert matter.owner_id == lawyer.id


def test_opening_a_matter_shows_the_problem_inline_when_the_title_is_blank(demo, login_as) -> None:
    before = count(Matter)
    response = login_as(demo.user(Role.LAWYER)).post(
        "/matters", data={"reference": "X-1", "title": "  "}, htmx=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert body.lstrip().startswith('<details class="card create-panel"') and " open " in body
    assert "needs a reference and a title" in body and 'value="X-1"' in body
    assert count(Matter) == before


def test_opening_a_matter_marks_the_reference_when_it_is_already_taken(demo, login_as) -> None:
    before = count(Matter)
    response = login_as(demo.user(Role.LAWYER)).post(
        "/matters", data={"reference": "DEMO-001", "title": "Again"}, htmx=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.CONFLICT
    assert 'aria-invalid="true" aria-describedby="reference-error"' in body
    assert 'id="reference-error">A matter with reference' in body
    assert count(Matter) == before


def test_opening_a_matter_is_forbidden_when_a_paralegal_posts(demo, login_as) -> None:
    before = count(Matter)
    response = login_as(demo.user(Role.PARALEGAL)).post(
        "/matters", data={"reference": "P-1", "title": "Nope"}, htmx=True
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert count(Matter) == before


# ---- close, archive, reopen ---------------------------------------------------------------


def _tab(matter: Matter) -> str:
    return f"/matters/{matter.id}/workflows"


def _matter_events(matter_id: int) -> list[tuple[str, str | None, str | None, int | None]]:
    rows = db.session.execute(
        select(
            WorkflowEvent.event_type,
            WorkflowEvent.old_status,
            WorkflowEvent.new_status,
            WorkflowEvent.actor_id,
        )
        .where(WorkflowEvent.matter_id == matter_id, WorkflowEvent.event_type.like("matter.%"))
        .order_by(WorkflowEvent.id)
    )
    return [tuple(r) for r in rows]


def test_owner_sees_close_and_archive_but_not_delete_when_the_matter_is_open(
    demo, login_as
) -> None:
    page = login_as(demo.user(Role.LAWYER)).get(_tab(demo.matter)).get_data(as_text=True)
    actions = page[page.index('id="matter-actions"') : page.index('class="tabs"')]
    assert "Close matter" in actions and "Archive" in actions and "Reopen" not in actions
    assert "Delete matter" not in actions
    paralegal = login_as(demo.user(Role.PARALEGAL)).get(_tab(demo.matter)).get_data(as_text=True)
    assert 'id="matter-actions"' not in paralegal


def test_close_swaps_the_header_and_side_and_leaves_workflows_alone_when_owner_closes(
    demo, login_as
) -> None:
    lawyer = demo.user(Role.LAWYER)
    workflows = snapshot()["instances"]
    response = login_as(lawyer).post(
        f"/matters/{demo.matter.id}/status", data={"status": "CLOSED", "seen": "OPEN"}, htmx=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert body.lstrip().startswith('<div class="page-header matter-header" id="matter-header"')
    assert re.search(r'id="matter-status"><span class="badge badge-neutral">Closed<', body)
    assert "Reopen" in body and "Close matter" not in body
    assert re.search(r'id="matter-side"[^>]*hx-swap-oob="true"', body)
    assert "This matter is closed" in body and "Start a workflow" not in body
    db.session.expire_all()
    assert db.session.get(Matter, demo.matter.id).status == "CLOSED"
    assert _matter_events(demo.matter.id)[-1] == (
        "matter.status_changed",
        "OPEN",
        "CLOSED",
        lawyer.id,
    )
    assert snapshot()["instances"] == workflows


def test_reopen_makes_an_archived_matter_open_again_when_admin_reopens_it(demo, login_as) -> None:
    demo.matter.status = "ARCHIVED"
    db.session.commit()
    response = login_as(demo.user(Role.ADMIN)).post(
        f"/matters/{demo.matter.id}/status", data={"status": "OPEN", "seen": "ARCHIVED"}, htmx=True
    )
    assert response.status_code == HTTPStatus.OK
    assert "Start a workflow" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Matter, demo.matter.id).status == "OPEN"


def test_close_is_forbidden_and_changes_nothing_when_a_paralegal_posts(demo, login_as) -> None:
    before = snapshot()
    response = login_as(demo.user(Role.PARALEGAL)).post(
        f"/matters/{demo.matter.id}/status", data={"status": "CLOSED", "seen": "OPEN"}, htmx=True
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot() == before


def test_stale_close_is_a_conflict_in_place_when_someone_archived_it_first(demo, login_as) -> None:
    demo.matter.status = "ARCHIVED"
    db.session.commit()
    before = snapshot()
    response = login_as(demo.user(Role.LAWYER)).post(
        f"/matters/{demo.matter.id}/status", data={"status": "CLOSED", "seen": "OPEN"}, htmx=True
    )
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.headers["HX-Reswap"] == "none"
    assert "DEMO-001 is now archived" in response.get_data(as_text=True)
    assert snapshot() == before


def test_an_unknown_matter_status_is_refused_inline_when_posted(demo, login_as) -> None:
    before = snapshot()
    response = login_as(demo.user(Role.LAWYER)).post(
        f"/matters/{demo.matter.id}/status", data={"status": "GONE", "seen": "OPEN"}, htmx=True
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "OPEN, CLOSED, ARCHIVED" in response.get_data(as_text=True)
    assert snapshot() == before


# ---- delete (admins) ----------------------------------------------------------------------


def test_delete_dialog_names_what_goes_and_what_stays_when_an_admin_opens_the_tab(
    demo, login_as
) -> None:
    page = login_as(demo.user(Role.ADMIN)).get(_tab(demo.matter)).get_data(as_text=True)
    dialog = page[page.index('<dialog id="delete-dialog"') : page.index("</dialog>")]
    text = re.sub(r"<[^>]+>", "", dialog)
    assert "This deletes matter DEMO-001 and its 1 workflow; the audit trail is kept." in text
    assert "Type DEMO-001 to confirm" in text and 'data-must-match="DEMO-001"' in dialog


def test_delete_removes_the_matter_and_its_workflows_but_keeps_the_audit_when_confirmed(
    demo, login_as
) -> None:
    admin = demo.user(Role.ADMIN)
    instance_id = db.session.scalar(select(WorkflowInstance.id))
    events_before = count(WorkflowEvent)
    web = login_as(admin)
    response = web.post(
        f"/matters/{demo.matter.id}/delete", data={"confirm_reference": "DEMO-001"}, htmx=True
    )
    assert response.headers["HX-Redirect"] == "/matters"
    assert count(Matter, Matter.reference == "DEMO-001") == 0
    assert count(WorkflowInstance) == 0
    assert count(WorkflowEvent) == events_before + 1  # nothing removed from the trail
    gone = db.session.scalar(
        select(WorkflowEvent).where(WorkflowEvent.event_type == "matter.deleted")
    )
    assert (gone.actor_id, gone.payload["instanceIds"]) == (admin.id, [instance_id])
    page = web.get("/matters").get_data(as_text=True)
    assert "Matter DEMO-001 and its 1 workflow were deleted." in page


def test_delete_asks_again_and_keeps_the_matter_when_the_typed_reference_is_wrong(
    demo, login_as
) -> None:
    before = snapshot()
    response = login_as(demo.user(Role.ADMIN)).post(
        f"/matters/{demo.matter.id}/delete", data={"confirm_reference": "demo-01"}, htmx=True
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert body.lstrip().startswith('<form id="delete-matter-form"')
    assert "Type DEMO-001 exactly to confirm." in body and 'value="demo-01"' in body
    assert snapshot() == before


def test_delete_is_forbidden_and_changes_nothing_when_the_owner_lawyer_posts(
    demo, login_as
) -> None:
    before = snapshot()
    response = login_as(demo.user(Role.LAWYER)).post(
        f"/matters/{demo.matter.id}/delete", data={"confirm_reference": "DEMO-001"}, htmx=True
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert snapshot() == before
