"""slack.post_message against a local stand-in of Slack's Web API (chat.postMessage): the
bot token comes from the firm's secrets, a 429 is retried at now + Retry-After through the
outbox (the clock is injected, nobody sleeps), and the posted message is recorded."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.integration.engine_support import by_key, make_firm, publish, reload, run_worker, step
from tests.integration.standin_support import StandIn, stand_in
from tests.integration.trigger_support import Clock
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Job, ResourceLink
from webapp.services import outbox

TOKEN = "xoxb-1234-5678-abcdefghijkl"
POSTED = {
    "ok": True,
    "channel": "C0123456789",
    "ts": "1765100000.000100",
    "message": {"type": "message", "text": "…", "bot_id": "B01"},
}


@pytest.fixture
def slack_firm(make_org, make_user, make_matter, api_as, app, monkeypatch):
    firm = make_firm(make_org, make_user, make_matter, api_as, Role.ADMIN)
    admin_api = api_as(firm.people[Role.ADMIN])
    stored = admin_api.post("/secrets", json={"name": "SLACK_BOT_TOKEN", "value": TOKEN})
    assert stored.status_code == 201
    return firm


@pytest.fixture
def outbox_clock(monkeypatch) -> Clock:
    """The outbox reads this clock: a job due in 7 s is due when the test says 7 s passed."""
    clock = Clock(datetime.now(UTC))
    monkeypatch.setattr(outbox, "utcnow", clock)
    return clock


def slack_api(app, monkeypatch, script: StandIn):
    manager = stand_in(script)
    base = manager.__enter__()
    monkeypatch.setitem(app.config, "SLACK_API_URL", f"{base}/api/")
    return manager


def post_step(**config) -> dict:
    body = {"channel": "#intake", "text": "New matter {{ matter.reference }}", **config}
    return step("tell", "slack.post_message", config=body)


def test_a_message_is_posted_with_the_bot_token_from_secrets_and_recorded(
    app, slack_firm, monkeypatch
):
    script = StandIn(lambda request: (200, {}, POSTED))
    manager = slack_api(app, monkeypatch, script)
    try:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Opened*"}}]
        template = publish(slack_firm.api, "Tell", [post_step(blocks=blocks)])
        started = slack_firm.api.post(
            f"/templates/{template}/instantiate", json={"matterId": slack_firm.matter.id}
        )
        run_worker()
    finally:
        manager.__exit__(None, None, None)
    (request,) = script.requests
    assert request["path"] == "/api/chat.postMessage"
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    sent = json.loads(request["body"])
    assert sent["channel"] == "#intake"
    assert sent["text"] == f"New matter {slack_firm.matter.reference}"
    assert sent["blocks"] == blocks
    tell = by_key(reload(slack_firm.api, started.json["id"]), "tell")
    assert tell["actionState"] == "COMPLETED"
    assert tell["actionConfig"]["tokenSecret"] == "SLACK_BOT_TOKEN"
    assert TOKEN not in json.dumps(tell)
    link = db.session.scalar(select(ResourceLink))
    assert (link.provider, link.kind, link.external_id) == (
        "slack",
        "message",
        "C0123456789:1765100000.000100",
    )


def test_a_429_is_retried_at_now_plus_retry_after_and_then_succeeds_once(
    app, slack_firm, monkeypatch, outbox_clock
):
    replies = iter([(429, {"Retry-After": "7"}, {"ok": False, "error": "ratelimited"})])
    script = StandIn(lambda request: next(replies, None) or (200, {}, POSTED))
    manager = slack_api(app, monkeypatch, script)
    try:
        template = publish(slack_firm.api, "Tell", [post_step()])
        started = slack_firm.api.post(
            f"/templates/{template}/instantiate", json={"matterId": slack_firm.matter.id}
        )
        outbox_clock.at = asked_at = datetime.now(UTC)  # the job enqueued above is due
        run_worker()
        assert len(script.requests) == 1
        job = db.session.scalar(select(Job).where(Job.kind == "step.run"))
        assert job.status == "PENDING"
        assert job.run_at == asked_at + timedelta(seconds=7)
        assert "HTTP 429" in job.last_error
        outbox_clock.advance(seconds=6)
        run_worker()
        assert len(script.requests) == 1  # not due yet
        outbox_clock.advance(seconds=1)
        run_worker()
    finally:
        manager.__exit__(None, None, None)
    assert len(script.requests) == 2
    tell = by_key(reload(slack_firm.api, started.json["id"]), "tell")
    assert tell["actionState"] == "COMPLETED"
    assert [a["status"] for a in tell["attempts"]] == ["FAILED", "SUCCEEDED"]
    assert "trying again in 7 s" in tell["attempts"][0]["error"]
    assert db.session.query(ResourceLink).count() == 1


def test_a_missing_secret_fails_the_step_in_plain_words_and_calls_nothing(
    app, make_org, make_user, make_matter, api_as, monkeypatch
):
    firm = make_firm(make_org, make_user, make_matter, api_as)
    script = StandIn(lambda request: (200, {}, POSTED))
    manager = slack_api(app, monkeypatch, script)
    try:
        template = publish(firm.api, "Tell", [post_step(tokenSecret="{{ secrets.OTHER_BOT }}")])
        started = firm.api.post(
            f"/templates/{template}/instantiate", json={"matterId": firm.matter.id}
        )
        run_worker()
    finally:
        manager.__exit__(None, None, None)
    assert script.requests == []
    tell = by_key(reload(firm.api, started.json["id"]), "tell")
    assert tell["actionState"] == "FAILED"
    assert "The secret OTHER_BOT is not set" in tell["attempts"][0]["error"]


def test_slack_refusing_the_channel_fails_the_step_without_retrying(app, slack_firm, monkeypatch):
    script = StandIn(lambda request: (200, {}, {"ok": False, "error": "channel_not_found"}))
    manager = slack_api(app, monkeypatch, script)
    try:
        template = publish(slack_firm.api, "Tell", [post_step()])
        started = slack_firm.api.post(
            f"/templates/{template}/instantiate", json={"matterId": slack_firm.matter.id}
        )
        run_worker()
    finally:
        manager.__exit__(None, None, None)
    assert len(script.requests) == 1
    tell = by_key(reload(slack_firm.api, started.json["id"]), "tell")
    assert tell["actionState"] == "FAILED"
    assert "channel_not_found" in tell["attempts"][0]["error"]


@pytest.mark.parametrize("token_secret", ["xoxb-typed-token", "slack bot", ""])
def test_a_token_typed_into_the_config_is_refused_when_the_template_is_saved(
    slack_firm, token_secret
):
    body = {"name": "Tell", "steps": [post_step(tokenSecret=token_secret)]}
    response = slack_firm.api.post("/templates", json=body)
    assert response.status_code == 422
    assert "never the token itself" in json.dumps(response.json)
