"""The migration pages: the runner's "Move to version N" panel for the matter's owner and
admins, its preview and confirmed move; a template's bulk page with its check, its run
and the run's progress."""

from http import HTTPStatus
from typing import Any

import pytest

from tests.integration.engine_support import by_key, publish, reload, run_worker, start
from tests.integration.support import snapshot
from tests.integration.test_instance_migration import ABC, approval, approve, new_version
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Organization


def runner_url(firm: Any, instance_id: int) -> str:
    return f"/matters/{firm.matter.id}/workflows/{instance_id}"


@pytest.fixture
def moved(firm) -> dict[str, Any]:
    """An instance of v1 whose first step is done, and a v2 that adds a step."""
    template_id = publish(firm.api, "Intake", ABC)
    instance_id = start(firm.api, template_id, firm.matter.id)["id"]
    approve(firm.api, instance_id, "a")
    version = new_version(firm.api, template_id, [*ABC, approval("d", title="File the memo")])
    return {"template_id": template_id, "instance_id": instance_id, "version": version}


def test_runner_offers_the_move_to_the_owner_when_a_newer_version_is_live(firm, login_as, moved):
    web = login_as(firm.lawyer)
    page = web.get(runner_url(firm, moved["instance_id"])).get_data(as_text=True)
    assert "Move to version 2" in page and "Review the changes" in page


def test_runner_does_not_offer_the_move_when_the_person_may_not_edit(
    firm, make_user, login_as, moved
):
    from webapp.models import MatterMember

    colleague = make_user(db.session.get(Organization, firm.matter.org_id), Role.LAWYER)
    db.session.add(MatterMember(matter_id=firm.matter.id, user_id=colleague.id, role="LAWYER"))
    db.session.commit()
    page = login_as(colleague).get(runner_url(firm, moved["instance_id"])).get_data(as_text=True)
    assert "Move to version" not in page


def test_preview_lists_the_changes_and_the_move_needs_confirmation(firm, login_as, moved):
    web = login_as(firm.lawyer)
    url = f"{runner_url(firm, moved['instance_id'])}/migration?toVersion={moved['version']}"
    fragment = web.get(url, htmx=True).get_data(as_text=True)
    assert "The new version adds the step “File the memo”." in fragment
    assert 'data-open-dialog="move-dialog"' in fragment and "Are you sure?" in fragment
    page = web.get(f"{url}&confirm=1").get_data(as_text=True)
    assert '<dialog id="move-dialog"' in page and " open>" in page

    response = web.post(
        f"{runner_url(firm, moved['instance_id'])}/migration",
        data={"toVersion": moved["version"], "csrf_token": web.csrf},
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    instance = reload(firm.api, moved["instance_id"])
    assert instance["templateVersion"] == 2 and by_key(instance, "d")["actionState"] == "PENDING"


def test_a_blocked_move_shows_why_and_changes_nothing_when_confirmed_anyway(firm, login_as):
    template_id = publish(firm.api, "Intake", ABC)
    instance_id = start(firm.api, template_id, firm.matter.id)["id"]
    approve(firm.api, instance_id, "a")
    version = new_version(firm.api, template_id, [approval("a", title="Renamed"), *ABC[1:]])
    web = login_as(firm.lawyer)
    url = f"{runner_url(firm, instance_id)}/migration?toVersion={version}"
    fragment = web.get(url, htmx=True).get_data(as_text=True)
    assert "cannot move to version 2" in fragment and "is completed" in fragment
    assert "move-dialog" not in fragment
    before = snapshot()
    refused = web.post(
        f"{runner_url(firm, instance_id)}/migration",
        data={"toVersion": version, "csrf_token": web.csrf},
        htmx=True,
    )
    assert refused.status_code == HTTPStatus.CONFLICT
    assert "cannot move" in refused.get_data(as_text=True)
    assert snapshot() == before


def test_bulk_page_checks_then_runs_and_shows_the_report_when_an_admin_moves(
    firm, make_user, login_as, moved
):
    admin = make_user(db.session.get(Organization, firm.matter.org_id), Role.ADMIN)
    web = login_as(admin)
    target = firm.api.get(f"/templates/{moved['template_id']}/versions").json["items"][0]
    base = f"/workflows/templates/{target['id']}/migrations"
    page = web.get(base).get_data(as_text=True)
    assert "Version 1" in page and "1 running workflow" in page
    report = web.get(f"{base}?from=1", htmx=True).get_data(as_text=True)
    assert "Can move" in report and "Are you sure?" in report and firm.matter.reference in report

    started = web.post(base, data={"fromVersion": 1, "csrf_token": web.csrf})
    assert started.status_code == HTTPStatus.SEE_OTHER
    run_page = started.headers["Location"]
    waiting = web.get(run_page).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in waiting
    run_worker()
    done = web.get(run_page, htmx=True).get_data(as_text=True)
    assert "Moved" in done and 'hx-trigger="every 1s"' not in done


def test_bulk_page_is_refused_when_a_lawyer_asks(firm, login_as, moved):
    target = firm.api.get(f"/templates/{moved['template_id']}/versions").json["items"][0]
    response = login_as(firm.lawyer).get(f"/workflows/templates/{target['id']}/migrations")
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_templates_list_says_which_version_is_live_when_the_newest_goes_live_later(firm, login_as):
    from datetime import timedelta

    from webapp.models.base import utcnow

    template_id = publish(firm.api, "Intake", ABC)
    later = (utcnow() + timedelta(days=3)).isoformat()
    new_version(firm.api, template_id, ABC[:2], effectiveFrom=later)
    page = login_as(firm.lawyer).get("/workflows/templates").get_data(as_text=True)
    assert "v1 is live" in page and "v2 goes live" in page
