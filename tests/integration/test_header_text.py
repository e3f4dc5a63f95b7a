"""Text that ends up in an email header refuses CR/LF where it is defined (422 in plain
words, nothing changed), and the email builder flattens what was stored before, so an
email job never fails because of it."""

from http import HTTPStatus

import pytest
from sqlalchemy import select, update

from tests.integration.engine_support import make_firm, publish, run_worker, smtp_server, start
from tests.integration.engine_support import step as step_body
from tests.integration.support import snapshot, step_by_key, three_step_template
from webapp.adapters.mail import build_message
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Job, TemplateStep, WorkflowTemplate
from webapp.services.templates import create_template

BREAKS = ["Review\r\nBcc: victim@example.test", "Review\nnext", "Review\rnext"]
ONE_LINE = "must fit on one line"


@pytest.fixture
def lawyer(demo, api_as):
    return api_as(demo.user(Role.LAWYER))


@pytest.fixture
def running(demo, lawyer) -> dict:
    draft = lawyer.post("/templates", json=three_step_template()).json
    published = lawyer.post(f"/templates/{draft['id']}/publish").json
    return lawyer.post(
        f"/templates/{published['id']}/instantiate", json={"matterId": demo.matter.id}
    ).json


def _refused(response) -> str:
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, response.json
    text = response.get_data(as_text=True)
    assert ONE_LINE in text
    return text


@pytest.mark.parametrize("title", BREAKS)
def test_api_refuses_a_step_title_with_a_line_break_when_a_template_is_defined(lawyer, title):
    body = three_step_template()
    body["steps"][0]["title"] = title
    before = snapshot()
    _refused(lawyer.post("/templates", json=body))
    assert snapshot() == before


def test_api_refuses_a_template_name_with_a_line_break_when_created_or_renamed(lawyer):
    before = snapshot()
    _refused(lawyer.post("/templates", json={**three_step_template(), "name": "Intake\nBcc: x"}))
    assert snapshot() == before
    draft = lawyer.post("/templates", json=three_step_template()).json
    before = snapshot()
    _refused(lawyer.patch(f"/templates/{draft['id']}", json={"name": "Intake\r\nX: y"}))
    assert snapshot() == before


def test_api_refuses_line_breaks_when_a_running_workflow_is_edited(lawyer, running):
    step = step_by_key(running, "approval")
    before = snapshot()
    url = f"/instances/{running['id']}/steps/{step['id']}"
    _refused(lawyer.patch(url, json={"title": "Approve\r\nBcc: x"}))
    _refused(lawyer.patch(f"/instances/{running['id']}", json={"title": "Renamed\nX"}))
    added = {"title": "Extra\nstep", "actionType": "core.echo", "actionConfig": {"message": "m"}}
    _refused(lawyer.post(f"/instances/{running['id']}/steps", json=added))
    assert snapshot() == before


@pytest.mark.parametrize(
    "config",
    [
        {"to": ["a@firm.test"], "subject": "Hello\r\nBcc: victim@example.test"},
        {"to": ["a@firm.test\r\nBcc: victim@example.test"], "subject": "Hello"},
        {"to": ["a@firm.test"], "cc": ["b@firm.test\nX: y"], "subject": "Hello"},
    ],
)
def test_api_refuses_an_email_step_whose_headers_have_line_breaks_when_defined(lawyer, config):
    body = {
        "name": "Mail",
        "steps": [
            {"key": "mail", "title": "Mail", "actionType": "core.email", "actionConfig": config}
        ],
    }
    before = snapshot()
    _refused(lawyer.post("/templates", json=body))
    assert snapshot() == before


def test_api_refuses_a_matter_reference_with_a_line_break_when_a_matter_is_opened(lawyer):
    before = snapshot()
    _refused(lawyer.post("/matters", json={"reference": "M-1\r\nX: y", "title": "T"}))
    assert snapshot() == before


@pytest.mark.parametrize("title", BREAKS)
def test_builder_refuses_a_step_title_with_a_line_break_when_a_step_is_added(demo, login_as, title):
    draft = create_template(demo.user(Role.LAWYER), "Purchase", [])
    web = login_as(demo.user(Role.LAWYER))
    before = snapshot()
    response = web.post(
        f"/workflows/templates/{draft.id}/steps",
        data={
            "sections": ["basics", "type", "config", "advanced"],
            "depends_mode": "previous",
            "title": title,
            "action_type": "core.echo",
            "role_scope": "LAWYER",
            "config.message": "hello",
        },
        htmx=True,
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert ONE_LINE in response.get_data(as_text=True)
    assert snapshot() == before


def test_email_builder_flattens_line_breaks_when_headers_carry_them(app):
    message = build_message(
        ["client@firm.test\r\nBcc: victim@example.test"],
        "Ready for you: Review\r\nBcc: victim@example.test",
        "Body\nwith lines",
        cc=["cc@firm.test\n"],
        reply_to="reply@firm.test\r\n",
    )
    raw = message.as_string()
    assert message["Subject"] == "Ready for you: Review Bcc: victim@example.test"
    assert message["Bcc"] is None
    assert "\nBcc:" not in raw
    assert message["Reply-To"] == "reply@firm.test"
    assert message.get_content() == "Body\nwith lines\n"  # the body keeps its lines


def test_stored_step_title_with_a_line_break_does_not_fail_the_email_job_when_it_is_sent(
    app, make_org, make_user, make_matter, api_as, monkeypatch
):
    """A row written before titles were refused (inserted directly here)."""
    firm = make_firm(make_org, make_user, make_matter, api_as, Role.PARALEGAL)
    template_id = publish(
        firm.api,
        "Conflicts",
        [step_body("check", "CHECKLIST", roleScope="PARALEGAL", config={"items": ["Search"]})],
    )
    db.session.execute(
        update(TemplateStep)
        .where(TemplateStep.template_id == template_id)
        .values(title="Check\r\nBcc: victim@example.test")
    )
    db.session.commit()
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        monkeypatch.setitem(app.config, "NOTIFICATIONS_ENABLED", True)
        start(firm.api, template_id, firm.matter.id)
        run_worker()
        assert inbox.received.wait(5)
    paralegal = firm.people[Role.PARALEGAL]
    assert [m["rcpt"] for m in inbox.messages] == [[paralegal.email]]
    subject = inbox.messages[0]["message"]["Subject"]
    assert subject == f"Ready for you: Check Bcc: victim@example.test ({firm.matter.reference})"
    job = db.session.scalar(select(Job).where(Job.kind == "notify.step_ready"))
    assert (job.status, job.last_error) == ("DONE", None)
    assert db.session.scalar(select(WorkflowTemplate.id).where(WorkflowTemplate.id == template_id))
