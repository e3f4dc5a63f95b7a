"""Webhook triggers: a signed delivery starts a workflow with the payload as its trigger
data; a bad, stale or missing signature, an unknown or disabled trigger are refused and
nothing is created; a delivery sent again answers its first firing."""

import threading

import pytest
from sqlalchemy import select

from tests.integration.engine_support import fresh, run_worker
from tests.integration.support import count
from tests.integration.trigger_support import signed_post, webhook_trigger
from webapp.extensions import db
from webapp.models import Job, Matter, TriggerFiring, WorkflowEvent, WorkflowInstance


def created_rows() -> dict[str, int]:
    fresh()
    return {
        "instances": count(WorkflowInstance),
        "firings": count(TriggerFiring),
        "matters": count(Matter),
        "jobs": count(Job),
        "events": count(WorkflowEvent),
    }


def test_a_signed_webhook_starts_the_workflow_on_the_named_matter(app, tfirm, clock):
    trigger = webhook_trigger(tfirm)
    assert trigger["secret"].startswith("whsec_")
    assert trigger["hookUrl"].endswith(f"/api/v1/hooks/{trigger['id']}")
    payload = {"matterReference": "INT-001", "client": "Acme", "priority": "high"}

    answer = signed_post(app.test_client(), trigger, payload, at=clock.at)

    assert answer.status_code == 202, answer.json
    assert answer.json["outcome"] == "started"
    instance = tfirm.api.get(f"/instances/{answer.json['instanceId']}").json
    assert instance["matterId"] == tfirm.matter.id
    assert instance["triggerType"] == "webhook"
    assert instance["triggerData"] == payload
    by_key = {s["key"]: s for s in instance["steps"]}
    assert by_key["welcome"]["title"] == "Welcome Acme"  # templates read trigger.data


def test_a_condition_over_trigger_data_routes_the_workflow(app, tfirm, clock):
    trigger = webhook_trigger(tfirm)
    client = app.test_client()
    low = signed_post(
        client, trigger, {"matterId": tfirm.matter.id, "priority": "low"}, "l", clock.at
    )
    high = signed_post(
        client, trigger, {"matterId": tfirm.matter.id, "priority": "high"}, "h", clock.at
    )
    run_worker()

    def urgent(answer):
        instance = tfirm.api.get(f"/instances/{answer.json['instanceId']}").json
        return next(s["actionState"] for s in instance["steps"] if s["key"] == "urgent")

    assert (urgent(low), urgent(high)) == ("SKIPPED", "COMPLETED")


def test_the_same_delivery_again_answers_the_first_firing_and_starts_nothing(app, tfirm, clock):
    trigger = webhook_trigger(tfirm)
    client = app.test_client()
    first = signed_post(client, trigger, {"matterId": tfirm.matter.id}, "same", clock.at)
    again = signed_post(client, trigger, {"matterId": tfirm.matter.id}, "same", clock.at)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json == first.json
    assert count(WorkflowInstance) == 1


@pytest.mark.parametrize(
    "spoil",
    ["wrong secret", "stale", "no signature", "unknown trigger", "disabled"],
)
def test_a_refused_delivery_creates_nothing(app, tfirm, clock, spoil):
    trigger = webhook_trigger(tfirm)
    if spoil == "disabled":
        disabled = tfirm.api.patch(f"/triggers/{trigger['id']}", json={"enabled": False})
        assert disabled.status_code == 200, disabled.json
    before = created_rows()
    client = app.test_client()
    payload = {"matterId": tfirm.matter.id}
    if spoil == "wrong secret":
        answer = signed_post(client, trigger, payload, at=clock.at, secret="whsec_guess")
    elif spoil == "stale":
        clock.advance(minutes=6)
        answer = signed_post(client, trigger, payload, at=clock.at.replace(minute=0))
    elif spoil == "no signature":
        answer = client.post(f"/api/v1/hooks/{trigger['id']}", json=payload)
    elif spoil == "unknown trigger":
        answer = signed_post(client, {**trigger, "id": trigger["id"] + 99}, payload, at=clock.at)
    else:
        answer = signed_post(client, trigger, payload, at=clock.at)

    expected = {"unknown trigger": 404, "disabled": 409}.get(spoil, 401)
    assert answer.status_code == expected, answer.json
    assert set(answer.json["error"]) == {"code", "message", "details"}
    assert trigger["secret"] not in answer.get_data(as_text=True)
    assert created_rows() == before


def test_a_tampered_body_is_refused(app, tfirm, clock):
    trigger = webhook_trigger(tfirm)
    body = b'{"matterId": 1}'
    good = signed_post(app.test_client(), trigger, None, at=clock.at, raw=body)
    headers = {k: v for k, v in good.request.headers.items() if k.startswith("X-Matterflow")}
    headers["X-Matterflow-Delivery"] = "other"
    tampered = app.test_client().post(
        f"/api/v1/hooks/{trigger['id']}", data=b'{"matterId": 2}', headers=headers
    )
    assert tampered.status_code == 401


def test_the_matter_can_come_from_the_trigger_or_be_opened_from_the_payload(app, tfirm, clock):
    fixed = webhook_trigger(tfirm, name="Fixed", matter={"id": tfirm.matter.id})
    answer = signed_post(app.test_client(), fixed, {}, "f-1", clock.at)
    assert answer.json["outcome"] == "started"
    opener = webhook_trigger(
        tfirm, name="Open", matter={"create": True, "ownerId": tfirm.lawyer.id}
    )
    payload = {"matter": {"reference": "NEW-7", "title": "Intake from the web form"}}
    answer = signed_post(app.test_client(), opener, payload, "o-1", clock.at)

    assert answer.status_code == 202, answer.json
    assert answer.json["outcome"] == "started"
    fresh()
    opened = db.session.scalar(select(Matter).where(Matter.reference == "NEW-7"))
    instance = db.session.get(WorkflowInstance, answer.json["instanceId"])
    assert (opened.owner_id, instance.matter_id) == (tfirm.lawyer.id, opened.id)


def test_a_firing_that_cannot_start_records_why_in_plain_words(app, tfirm, clock):
    trigger = webhook_trigger(tfirm, condition='trigger.data.kind == "intake"')
    client = app.test_client()
    filtered = signed_post(
        client, trigger, {"matterId": tfirm.matter.id, "kind": "spam"}, "a", clock.at
    )
    no_matter = signed_post(client, trigger, {"kind": "intake"}, "b", clock.at)
    unknown = signed_post(
        client, trigger, {"kind": "intake", "matterReference": "NOPE"}, "c", clock.at
    )

    assert filtered.json["outcome"] == "filtered"
    assert "was false" in filtered.json["reason"]
    assert no_matter.json["outcome"] == "failed"
    assert "matterId or matterReference" in no_matter.json["reason"]
    assert "NOPE" in unknown.json["reason"]
    assert count(WorkflowInstance) == 0
    firings = tfirm.api.get(f"/triggers/{trigger['id']}/firings").json
    assert [f["outcome"] for f in firings["items"]] == ["failed", "failed", "filtered"]


def test_five_concurrent_copies_of_a_delivery_create_one_instance(app, tfirm, clock, dialect):
    if dialect != "postgresql":
        pytest.skip("concurrent writers are the PostgreSQL case")
    trigger = webhook_trigger(tfirm)
    matter_id = tfirm.matter.id  # read here: the threads must not share the test's session
    gate = threading.Barrier(5)
    answers: list[int] = []

    def deliver() -> None:
        with app.app_context():
            client = app.test_client()
            gate.wait()
            answers.append(
                signed_post(client, trigger, {"matterId": matter_id}, "burst", clock.at).status_code
            )

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(answers) == [200, 200, 200, 200, 202]
    fresh()
    assert count(WorkflowInstance) == 1
    assert count(TriggerFiring) == 1


def test_the_runner_page_says_what_started_the_workflow(app, tfirm, clock, login_as):
    trigger = webhook_trigger(tfirm)
    payload = {"matterId": tfirm.matter.id, "client": "Acme Ltd"}
    answer = signed_post(app.test_client(), trigger, payload, at=clock.at)
    page = login_as(tfirm.lawyer).get(
        f"/matters/{tfirm.matter.id}/workflows/{answer.json['instanceId']}"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-trigger-type="webhook"' in html and "by a webhook" in html
    assert "What started it" in html and "Acme Ltd" in html


def test_a_body_too_large_to_keep_is_refused_with_413(app, tfirm, clock):
    trigger = webhook_trigger(tfirm)
    payload = {"matterId": tfirm.matter.id, "notes": "x" * 300_000}
    answer = signed_post(app.test_client(), trigger, payload, at=clock.at)
    assert answer.status_code == 413
    assert count(TriggerFiring) == 0
