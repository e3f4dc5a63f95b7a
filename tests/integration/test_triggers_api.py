"""The trigger door through the API: admins only, every change audited, definitions
checked field by field, a webhook's secret shown once, and the trigger context of
instances started by hand or by the API."""

import pytest
from sqlalchemy import select

from tests.integration.engine_support import fresh, publish, step
from tests.integration.support import count
from tests.integration.trigger_support import signed_post, webhook_trigger
from webapp.extensions import db
from webapp.models import Trigger, WorkflowEvent


def test_only_admins_see_or_change_triggers(app, tfirm):
    trigger = webhook_trigger(tfirm)
    lawyer = tfirm.lawyer_api
    assert lawyer.get("/triggers").status_code == 403
    assert lawyer.get(f"/triggers/{trigger['id']}/firings").status_code == 403
    refused = lawyer.post(
        "/triggers", json={"name": "x", "kind": "webhook", "templateKey": "intake"}
    )
    assert refused.status_code == 403
    assert lawyer.delete(f"/triggers/{trigger['id']}").status_code == 403
    assert count(Trigger) == 1


def test_the_secret_is_shown_when_created_and_rotated_and_never_read_back(app, tfirm, clock):
    trigger = webhook_trigger(tfirm)
    read = tfirm.api.get(f"/triggers/{trigger['id']}").json
    listed = tfirm.api.get("/triggers").json["items"][0]
    assert read["secret"] is None and listed["secret"] is None
    assert read["hookUrl"] == trigger["hookUrl"]

    rotated = tfirm.api.post(f"/triggers/{trigger['id']}/secret")

    assert rotated.status_code == 200
    new_secret = rotated.json["secret"]
    assert new_secret not in (None, trigger["secret"])
    client = app.test_client()
    old = signed_post(client, trigger, {"matterId": tfirm.matter.id}, "r1", clock.at)
    new = signed_post(
        client, {**trigger, "secret": new_secret}, {"matterId": tfirm.matter.id}, "r2", clock.at
    )
    assert (old.status_code, new.status_code) == (401, 202)


def test_every_change_of_a_trigger_is_audited(app, tfirm):
    trigger = webhook_trigger(tfirm)
    tfirm.api.patch(f"/triggers/{trigger['id']}", json={"name": "Renamed"})
    tfirm.api.post(f"/triggers/{trigger['id']}/secret")
    deleted = tfirm.api.delete(f"/triggers/{trigger['id']}")
    assert deleted.status_code == 200
    fresh()
    types = db.session.scalars(
        select(WorkflowEvent.event_type)
        .where(WorkflowEvent.event_type.like("trigger.%"))
        .order_by(WorkflowEvent.id)
    ).all()
    assert types == [
        "trigger.created",
        "trigger.updated",
        "trigger.secret_rotated",
        "trigger.deleted",
    ]
    assert count(Trigger) == 0
    secrets = db.session.scalars(select(WorkflowEvent.payload)).all()
    assert all(
        "secret" not in str(payload).lower() or "whsec_" not in str(payload) for payload in secrets
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "schedule", "schedule": {"cron": "not cron"}, "matter": {"id": 1}}, "schedule"),
        (
            {
                "kind": "schedule",
                "schedule": {"cron": "0 9 * * 1", "timezone": "Mars/Base"},
                "matter": {"id": 1},
            },
            "schedule",
        ),
        ({"kind": "schedule", "schedule": {"cron": "0 9 * * 1"}}, "matter"),
        ({"kind": "webhook", "condition": "trigger.data.x =="}, "condition"),
        ({"kind": "webhook", "templateKey": "nothing_here"}, "templateKey"),
        ({"kind": "event"}, "event.type"),
        ({"kind": "webhook", "matter": {"filter": "true"}}, "matter"),
        ({"kind": "webhook", "parameters": {"x": "{{ trigger.data.x"}}, "parameters.x"),
    ],
)
def test_a_definition_that_cannot_work_is_refused_naming_its_field(app, tfirm, body, field):
    body = {"name": "Bad", "templateKey": "intake", **body}
    if body.get("matter") == {"id": 1}:
        body["matter"] = {"id": tfirm.matter.id}
    answer = tfirm.api.post("/triggers", json=body)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["details"][0]["field"] == field
    assert count(Trigger) == 0


def test_a_schedule_shows_its_next_fire_time_in_its_zone(app, tfirm, clock):
    body = {
        "name": "Matter review",
        "kind": "schedule",
        "templateKey": "intake",
        "matter": {"id": tfirm.matter.id},
        "schedule": {"cron": "0 9 * * 1", "timezone": "Europe/London"},
    }
    created = tfirm.api.post("/triggers", json=body)
    assert created.status_code == 201, created.json
    assert created.json["nextFireAt"].startswith("2026-12-07T09:00:00")  # a Monday, GMT
    assert created.json["schedule"] == {
        "cron": "0 9 * * 1",
        "timezone": "Europe/London",
        "missed": "skip",
    }
    disabled = tfirm.api.patch(f"/triggers/{created.json['id']}", json={"enabled": False})
    assert disabled.json["nextFireAt"] is None


def test_a_trigger_of_another_firm_is_not_found(app, tfirm, second_firm, make_user, api_as):
    trigger = webhook_trigger(tfirm)
    other_admin = make_user(second_firm["org"], "ADMIN")
    other = api_as(other_admin)
    assert other.get(f"/triggers/{trigger['id']}").status_code == 404
    assert other.patch(f"/triggers/{trigger['id']}", json={"enabled": False}).status_code == 404


def test_instances_record_what_started_them(app, tfirm, login_as):
    by_api = tfirm.api.post(
        f"/templates/{tfirm.template_id}/instantiate", json={"matterId": tfirm.matter.id}
    )
    assert by_api.json["triggerType"] == "api"
    assert by_api.json["triggerData"] == {}
    web = login_as(tfirm.admin)
    page = web.post(
        f"/matters/{tfirm.matter.id}/workflows",
        data={"template_id": tfirm.template_id, "csrf_token": web.csrf},
    )
    assert page.status_code in (200, 302, 303), page.status_code
    fresh()
    listed = tfirm.api.get(f"/instances?matterId={tfirm.matter.id}").json["items"]
    types = sorted(tfirm.api.get(f"/instances/{item['id']}").json["triggerType"] for item in listed)
    assert types == ["api", "manual"]


def test_conditions_read_the_trigger_type(app, tfirm):
    template = publish(
        tfirm.api,
        "Typed",
        [
            step("by_api", condition='trigger.type == "api"', dependsOn=[]),
            step("by_hand", condition='trigger.type == "manual"', dependsOn=[]),
        ],
    )
    started = tfirm.api.post(
        f"/templates/{template}/instantiate", json={"matterId": tfirm.matter.id}
    )
    states = {s["key"]: s["actionState"] for s in started.json["steps"]}
    assert states["by_hand"] == "SKIPPED"
    assert states["by_api"] != "SKIPPED"
