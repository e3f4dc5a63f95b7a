"""Drift and change history in the browser: the "In sync" / "Drifted" badge on the runner
and the Workflows tab, the summary fragment loaded on demand, the editor's out-of-band
badge after an edit, and the history as sentences, newest first, paged with "Show more"."""

import html
import re
from http import HTTPStatus

import pytest
from sqlalchemy import select

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import WorkflowInstance
from webapp.services import instances


@pytest.fixture
def instance(demo) -> WorkflowInstance:
    return db.session.scalar(select(WorkflowInstance))


def _runner(instance: WorkflowInstance) -> str:
    return f"/matters/{instance.matter_id}/workflows/{instance.id}"


def _drift_badge(body: str) -> str:
    return re.search(r'id="drift-badge"[^>]*>([^<]+)<', body).group(1)


def _shown_badge(web, body: str) -> str:
    """The drift badge as a person sees it: the runner fetches it once the page shows."""
    match = re.search(r'id="drift-badge"[^>]*hx-get="([^"]+)"', body)
    if match:
        body = web.get(html.unescape(match.group(1)), htmx=True).get_data(as_text=True)
    return _drift_badge(body)


def _step_id(instance: WorkflowInstance, key: str) -> int:
    return next(s.id for s in instance.steps if s.key == key)


def _tailor(lawyer, instance: WorkflowInstance) -> None:
    """Each kind of edit once: rename a step, add one, remove one, move one."""
    approval = _step_id(instance, "engagement_approval")
    instances.update_step(lawyer, instance.id, approval, {"title": "Partner sign-off"})
    w9 = {
        "title": "Collect W-9",
        "actionType": "CHECKLIST",
        "roleScope": Role.PARALEGAL,
        "actionConfig": {"items": ["W-9"]},
    }
    instances.add_step(lawyer, instance.id, w9, order=3)
    instances.remove_step(lawyer, instance.id, _step_id(instance, "retainer"))
    db.session.expire_all()
    order = [s.id for s in db.session.get(WorkflowInstance, instance.id).steps]
    order.insert(0, order.pop(1))  # "Partner sign-off" first
    instances.reorder_steps(lawyer, instance.id, order)


def test_runner_says_in_sync_and_the_summary_says_so_when_nothing_was_tailored(
    demo, instance, login_as
) -> None:
    web = login_as(demo.user(Role.LAWYER))
    page = web.get(_runner(instance)).get_data(as_text=True)
    assert 'id="drift-badge"' in page and "Comparing" in page  # the page does not wait for it
    assert _shown_badge(web, page) == "In sync"
    assert 'hx-trigger="toggle once"' in page and f'hx-get="{_runner(instance)}/drift"' in page
    summary = web.get(f"{_runner(instance)}/drift", htmx=True).get_data(as_text=True)
    assert "Compared with <strong>Client onboarding</strong>" in summary
    assert "client_onboarding v1" in summary and "nothing was tailored" in summary


def test_drift_summary_lists_every_kind_of_change_when_the_workflow_was_tailored(
    demo, instance, login_as
) -> None:
    lawyer = demo.user(Role.LAWYER)
    _tailor(lawyer, instance)
    instances.rename_instance(lawyer, instance.id, "Onboarding — Acme (fast track)")
    web = login_as(lawyer)
    assert _shown_badge(web, web.get(_runner(instance)).get_data(as_text=True)) == "Drifted"
    summary = web.get(f"{_runner(instance)}/drift", htmx=True).get_data(as_text=True)
    assert "Added: “Collect W-9”" in summary
    assert "Removed: “Pay the retainer”" in summary
    assert "Steps reordered" in summary
    assert "Changed: “Partner sign-off”" in summary
    assert "Title: “Approve engagement” → “Partner sign-off”" in summary
    assert "Workflow details changed" in summary
    assert "{" not in summary  # sentences, not JSON


def test_workflows_tab_shows_a_drift_badge_per_workflow_when_staff_look(
    demo, instance, login_as
) -> None:
    lawyer = demo.user(Role.LAWYER)
    template_id = instance.template_id
    other, _new = instances.instantiate(lawyer, template_id, demo.matter.id, title="Second")
    instances.rename_instance(lawyer, other.id, "Second, renamed")
    page = login_as(lawyer).get(f"/matters/{demo.matter.id}/workflows").get_data(as_text=True)
    first = page[page.index(f'id="instance-{instance.id}"') :]
    second = page[
        page.index(f'id="instance-{other.id}"') : page.index(f'id="instance-{instance.id}"')
    ]
    assert "In sync" in first.split("</tr>")[0]  # never tailored: nothing to compare
    assert f'hx-get="/matters/{demo.matter.id}/workflows/{other.id}/drift"' in second
    badge = re.search(r'hx-get="([^"]+badge=1[^"]*)"', second).group(1)  # fetched once shown
    shown = login_as(lawyer).get(html.unescape(badge), htmx=True).get_data(as_text=True)
    assert "Drifted" in shown and 'id="drift-badge"' not in shown  # one per row: no id


def test_clients_see_no_drift_or_history_and_are_refused_the_fragments_when_they_ask(
    demo, instance, login_as
) -> None:
    web = login_as(demo.user(Role.CLIENT))
    page = web.get(_runner(instance)).get_data(as_text=True)
    assert "drift-badge" not in page and "Change history" not in page
    tab = web.get(f"/matters/{demo.matter.id}/workflows").get_data(as_text=True)
    assert "In sync" not in tab
    for fragment in ("drift", "drift?badge=1", "history"):
        response = web.get(f"{_runner(instance)}/{fragment}", htmx=True)
        assert response.status_code == HTTPStatus.FORBIDDEN


def test_fragments_are_not_found_when_someone_from_another_firm_asks(
    demo, instance, login_as, second_firm
) -> None:
    web = login_as(second_firm["lawyer"])
    for fragment in ("drift", "drift?badge=1", "history"):
        assert web.get(f"{_runner(instance)}/{fragment}").status_code == HTTPStatus.NOT_FOUND


def test_editor_edit_swaps_the_drift_badge_and_history_when_owner_renames_a_step(
    demo, instance, login_as
) -> None:
    web = login_as(demo.user(Role.LAWYER))
    editor = f"{_runner(instance)}/edit"
    assert _drift_badge(web.get(editor).get_data(as_text=True)) == "In sync"
    step_id = _step_id(instance, "conflict_check")
    response = web.post(
        f"{editor}/steps/{step_id}/row",
        data={
            "sections": "basics",
            "title": "Conflict search",
            "role_scope": "PARALEGAL",
            "required": "on",
        },
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == HTTPStatus.OK
    assert {"drift", "change-history"} <= set(
        re.findall(r'id="([\w-]+)"[^>]*hx-swap-oob="true"', body)
    )
    assert _drift_badge(body) == "Drifted"
    assert "Lee Lawyer changed the step “Conflict search”" in body
    assert "Title: “Run conflict check” → “Conflict search”" in body


def test_history_reads_as_sentences_newest_first_when_the_workflow_was_tailored(
    demo, instance, login_as
) -> None:
    _tailor(demo.user(Role.LAWYER), instance)
    page = login_as(demo.user(Role.PARALEGAL)).get(_runner(instance)).get_data(as_text=True)
    history = page[page.index('id="change-history"') : page.index('id="audit-trail"')]
    sentences = re.findall(r'<p class="tl-text">([^<]+)</p>', history)
    assert sentences == [
        "Lee Lawyer moved the step “Partner sign-off” from position 2 to 1",
        "Lee Lawyer removed the step “Pay the retainer”",
        "Lee Lawyer added the step “Collect W-9” at position 3",
        "Lee Lawyer changed the step “Partner sign-off”",
        "Lee Lawyer created this workflow from client_onboarding v1",
    ]
    assert '<span class="count">5</span>' in history and "Show more" not in history


def test_show_more_pages_older_entries_when_the_history_is_long(demo, instance, login_as) -> None:
    lawyer = demo.user(Role.LAWYER)
    for n in range(9):
        instances.rename_instance(lawyer, instance.id, f"Onboarding, take {n}")
    web = login_as(lawyer)
    page = web.get(_runner(instance)).get_data(as_text=True)
    history = page[page.index('id="change-history"') : page.index('id="audit-trail"')]
    assert history.count('class="tl-item history-item') == 8
    assert "“Onboarding, take 7” to “Onboarding, take 8”" in history
    assert f'hx-get="{_runner(instance)}/history?offset=8"' in history and "(2 older)" in history
    more = web.get(f"{_runner(instance)}/history?offset=8", htmx=True).get_data(as_text=True)
    assert more.count('class="tl-item history-item') == 2
    assert "renamed the workflow from “Onboarding — Acme Corp” to “Onboarding, take 0”" in more
    assert "created this workflow" in more and "Show more" not in more
