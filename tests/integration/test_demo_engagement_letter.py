"""The demo firm's "Engagement letter" template: an approval that branches into automation,
the letter rendered from the demo's Word template and emailed as a PDF attachment."""

import hashlib
import io
from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.integration.document_template_support import text_of_pdf
from tests.integration.engine_support import by_key, reload, run_worker, smtp_server, states
from tests.integration.support import PDF
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document, DocumentSource, WorkflowTemplate
from webapp.services.documents import open_document


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


def test_approving_renders_the_word_letter_and_emails_it_as_a_pdf_when_the_demo_runs(
    app, demo, letter, monkeypatch
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
    email = message["message"]
    assert email["Subject"] == "Your engagement letter — Acme Corp v. Widget Ltd"
    after = reload(lawyer, instance["id"])
    assert states(after) == {
        "approve_letter": "COMPLETED",
        "render_letter": "COMPLETED",
        "send_letter": "COMPLETED",
        "explain_decision": "SKIPPED",
        "wait_for_reply": "IN_PROGRESS",
        "follow_up_call": "PENDING",
    }

    # The letter was rendered from the demo's Word template and filed on the matter…
    rendered = after["stepData"]["render_letter"]
    document = db.session.get(Document, rendered["documentId"])
    assert document.matter_id == demo.matter.id and document.source == DocumentSource.RENDER
    assert document.step_id == by_key(after, "render_letter")["id"]
    assert document.name == "Engagement letter DEMO-001.pdf" == rendered["name"]
    assert document.sha256 == rendered["sha256"] and document.shared_with_client

    # …and the email carries that PDF, and says so.
    attachments = list(email.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["Engagement letter DEMO-001.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    pdf = attachments[0].get_content()
    assert hashlib.sha256(pdf).hexdigest() == document.sha256
    text = text_of_pdf(pdf)
    for value in ("Demo Law LLP", "Acme Corp v. Widget Ltd", "DEMO-001", "Casey Client"):
        assert value in text
    assert "Lee Lawyer" in text and "Pat Paralegal will assist" in text
    assert "{{" not in text
    body = email.get_body(("plain",)).get_content()
    assert "Please find attached our engagement letter for DEMO-001" in body
    assert "(Engagement letter DEMO-001.pdf)" in body


def test_the_demo_letter_template_is_published_with_only_known_fields_when_seeded(demo, api_as):
    lawyer = api_as(demo.user(Role.LAWYER))
    listed = lawyer.get("/document-templates").json["items"]
    letter = next(t for t in listed if t["key"] == "engagement_letter")
    assert letter["status"] == "PUBLISHED" and letter["format"] == "docx"
    paths = {f["path"] for f in letter["fields"]}
    assert {"matter.parties[].name", "matter.members.paralegals[].name", "today"} <= paths
    assert all(f["known"] for f in letter["fields"])


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
        "render_letter": "SKIPPED",
        "send_letter": "SKIPPED",
        "explain_decision": "COMPLETED",
        "wait_for_reply": "SKIPPED",
        "follow_up_call": "SKIPPED",
    }
    assert after["status"] == "Completed"


def test_a_matter_opened_in_the_demo_gets_onboarding_with_its_own_letter_to_sign(app, demo, api_as):
    """The demo's "Matter opened → onboarding" trigger: the onboarding it starts renders the
    engagement letter for the new matter, so the client signs that, not DEMO-001's."""
    people = {role: demo.user(role) for role in (Role.LAWYER, Role.PARALEGAL, Role.CLIENT)}
    lawyer, paralegal, client = (api_as(person) for person in people.values())
    opened = lawyer.post(
        "/matters",
        json={
            "reference": "NEW-7",
            "title": "Beta Ltd v. Gamma plc",
            "ownerId": people[Role.LAWYER].id,
            "clientId": people[Role.CLIENT].id,
            "team": [{"userId": people[Role.PARALEGAL].id, "role": "PARALEGAL"}],
        },
    )
    assert opened.status_code == HTTPStatus.CREATED, opened.json
    run_worker()  # the event fires after the commit
    [instance] = lawyer.get(f"/instances?matterId={opened.json['id']}").json["items"]
    instance = reload(lawyer, instance["id"])

    def complete(api, key: str, **body) -> None:
        response = api.post(f"/steps/{by_key(instance, key)['id']}/complete", **body)
        assert response.status_code == HTTPStatus.OK, response.json

    items = by_key(instance, "conflict_check")["actionConfig"]["items"]
    complete(paralegal, "conflict_check", json={"checkedItems": items})
    complete(lawyer, "engagement_approval", json={"approved": True, "comment": ""})
    complete(
        client,
        "identity_documents",
        data={"file": (io.BytesIO(PDF), "passport.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    run_worker()  # renders the letter for this matter

    after = reload(lawyer, instance["id"])
    assert states(after)["prepare_letter"] == "COMPLETED"
    assert states(after)["engagement_letter"] == "READY"
    letter = db.session.get(Document, after["stepData"]["prepare_letter"]["documentId"])
    assert letter.matter_id == opened.json["id"] and letter.name == "Engagement letter NEW-7.pdf"
    _, stored = open_document(people[Role.LAWYER], letter.id)
    with stored:
        assert "Beta Ltd v. Gamma plc" in text_of_pdf(stored.read())
