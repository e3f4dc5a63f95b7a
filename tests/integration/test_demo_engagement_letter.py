"""The demo firm's "Engagement letter" template: an approval that branches into automation."""

from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.integration.engine_support import by_key, reload, run_worker, smtp_server, states
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import WorkflowTemplate


@pytest.fixture
def letter(demo, api_as):
    template = db.session.scalar(
        select(WorkflowTemplate).where(WorkflowTemplate.key == "engagement_letter")
    )
    lawyer = api_as(demo.user(Role.LAWYER))
    started = lawyer.post(
        f"/templates/{template.id}/instantiate", json={"matterId": demo.matter.id}
    )
    assert started.status_code == HTTPStatus.CREATED, started.json
    return lawyer, started.json


def decide(lawyer, instance, approved: bool, comment: str = "") -> None:
    approval = by_key(instance, "approve_letter")
    response = lawyer.post(
        f"/steps/{approval['id']}/complete", json={"approved": approved, "comment": comment}
    )
    assert response.status_code == HTTPStatus.OK, response.json


def test_approving_emails_the_letter_and_waits_three_days_when_the_demo_runs(
    app, letter, monkeypatch
):
    lawyer, instance = letter
    assert by_key(instance, "approve_letter")["actionConfig"]["message"] == (
        "Send the engagement letter for DEMO-001?"
    )
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        decide(lawyer, instance, approved=True)
        run_worker()
        assert inbox.received.wait(5)
    message = inbox.messages[0]
    assert message["rcpt"] == ["client@demo.test"]
    assert message["message"]["Subject"] == "Your engagement letter — Acme Corp v. Widget Ltd"
    assert states(reload(lawyer, instance["id"])) == {
        "approve_letter": "COMPLETED",
        "send_letter": "COMPLETED",
        "explain_decision": "SKIPPED",
        "wait_for_reply": "IN_PROGRESS",
        "follow_up_call": "PENDING",
    }


def test_rejecting_explains_with_the_lawyers_comment_when_the_demo_runs(app, letter, monkeypatch):
    lawyer, instance = letter
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        decide(lawyer, instance, approved=False, comment="We have a conflict of interest.")
        run_worker()
        assert inbox.received.wait(5)
    message = inbox.messages[0]
    assert message["message"]["Subject"] == "About DEMO-001"
    assert "We have a conflict of interest." in message["message"].get_content()
    after = reload(lawyer, instance["id"])
    assert states(after) == {
        "approve_letter": "COMPLETED",
        "send_letter": "SKIPPED",
        "explain_decision": "COMPLETED",
        "wait_for_reply": "SKIPPED",
        "follow_up_call": "SKIPPED",
    }
    assert after["status"] == "Completed"
