"""/admin/triggers: admins create, disable, rotate and delete triggers through the same
door as the API, see the last firings with their reasons, and a secret once."""

from sqlalchemy import select

from tests.integration.engine_support import fresh
from tests.integration.support import count
from tests.integration.trigger_support import signed_post, webhook_trigger
from webapp.extensions import db
from webapp.models import Trigger


def test_an_admin_creates_a_webhook_trigger_and_sees_its_secret_once(app, tfirm, login_as):
    web = login_as(tfirm.admin)
    page = web.post(
        "/admin/triggers",
        data={
            "csrf_token": web.csrf,
            "name": "New intake",
            "kind": "webhook",
            "template_key": "intake",
            "matter_rule": "payload",
        },
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:500]
    fresh()
    trigger = db.session.scalars(select(Trigger)).one()
    assert trigger.secret in html and "shown this once" in html
    again = web.get("/admin/triggers").get_data(as_text=True)
    assert trigger.secret not in again
    assert f"/api/v1/hooks/{trigger.id}" in again


def test_a_schedule_that_cannot_work_is_refused_inline(app, tfirm, login_as):
    web = login_as(tfirm.admin)
    page = web.post(
        "/admin/triggers",
        data={
            "csrf_token": web.csrf,
            "name": "Review",
            "kind": "schedule",
            "template_key": "intake",
            "matter_rule": "fixed",
            "matter_id": str(tfirm.matter.id),
            "cron": "every monday",
            "timezone": "Europe/London",
        },
    )
    assert page.status_code == 422
    assert "is not a cron expression" in page.get_data(as_text=True)
    assert count(Trigger) == 0


def test_the_page_lists_firings_with_their_reasons(app, tfirm, clock, login_as):
    trigger = webhook_trigger(tfirm)
    signed_post(app.test_client(), trigger, {"matterId": tfirm.matter.id}, "a", clock.at)
    signed_post(app.test_client(), trigger, {"priority": "x"}, "b", clock.at)
    html = login_as(tfirm.admin).get("/admin/triggers").get_data(as_text=True)
    assert "Started" in html and "Failed" in html
    assert "send matterId or matterReference" in html


def test_disable_rotate_and_delete_go_through_the_door(app, tfirm, login_as):
    trigger = webhook_trigger(tfirm)
    web = login_as(tfirm.admin)
    disabled = web.post(
        f"/admin/triggers/{trigger['id']}/enabled",
        data={"csrf_token": web.csrf, "enabled": "false"},
    )
    assert disabled.status_code in (302, 303)
    fresh()
    assert db.session.get(Trigger, trigger["id"]).enabled is False
    rotated = web.post(f"/admin/triggers/{trigger['id']}/secret", data={"csrf_token": web.csrf})
    fresh()
    secret = db.session.get(Trigger, trigger["id"]).secret
    assert secret != trigger["secret"] and secret in rotated.get_data(as_text=True)
    confirm = web.get(f"/admin/triggers?confirm=delete-{trigger['id']}").get_data(as_text=True)
    assert f'id="delete-{trigger["id"]}"' in confirm and "Are you sure?" in confirm
    deleted = web.post(f"/admin/triggers/{trigger['id']}/delete", data={"csrf_token": web.csrf})
    assert deleted.status_code in (302, 303)
    assert count(Trigger) == 0


def test_people_who_are_not_admins_cannot_open_the_page(app, tfirm, login_as):
    web = login_as(tfirm.lawyer)
    assert web.get("/admin/triggers").status_code == 403
    refused = web.post(
        "/admin/triggers",
        data={"csrf_token": web.csrf, "name": "x", "kind": "webhook", "template_key": "intake"},
    )
    assert refused.status_code == 403
    assert count(Trigger) == 0
