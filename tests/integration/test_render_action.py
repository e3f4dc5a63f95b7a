"""`core.render_document` and `core.email` attachments through the worker: the document
filed on the matter with its step, an HTML template's PDF, and the clear failures (no
published template, a document of another matter, attachments over the size cap)."""

from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.integration.document_template_support import text_of_pdf
from tests.integration.engine_support import (
    by_key,
    publish,
    reload,
    run_worker,
    smtp_server,
    start,
    states,
    step,
)
from webapp.adapters import storage
from webapp.extensions import db
from webapp.models import Document, DocumentSource, WorkflowEvent
from webapp.services.documents import file_document

NOTE = "<h1>Note for {{ matter.reference }}</h1><p>{{ instance.context.topic }}</p>"


@pytest.fixture
def note(firm) -> int:
    created = firm.api.post(
        "/document-templates",
        json={"name": "Note", "format": "html", "body": NOTE, "key": "note"},
    )
    assert created.status_code == HTTPStatus.CREATED, created.json
    published = firm.api.post(f"/document-templates/{created.json['id']}/publish")
    assert published.status_code == HTTPStatus.OK, published.json
    return created.json["id"]


def render_step(**config):
    return step(
        "render",
        "core.render_document",
        roleScope="LAWYER",
        config={"templateKey": "note", "name": "Note {{ matter.reference }}", **config},
    )


def email_step(attachments):
    return step(
        "send",
        "core.email",
        roleScope="LAWYER",
        dependsOn=["render"],
        config={"to": ["client@example.test"], "subject": "Note", "attachments": attachments},
    )


def test_render_files_the_pdf_on_the_matter_with_its_step_when_the_worker_runs(firm, note):
    template_id = publish(firm.api, "Notes", [render_step()])
    instance = start(firm.api, template_id, firm.matter.id, parameters={"topic": "Disclosure"})
    run_worker()
    after = reload(firm.api, instance["id"])
    assert states(after) == {"render": "COMPLETED"}
    output = after["stepData"]["render"]
    assert set(output) == {"documentId", "name", "sha256"}
    document = db.session.get(Document, output["documentId"])
    assert document.matter_id == firm.matter.id and document.source == DocumentSource.RENDER
    assert document.step_id == by_key(after, "render")["id"]
    assert document.content_type == "application/pdf" and not document.shared_with_client
    data = (storage.root() / document.storage_path).read_bytes()
    text = text_of_pdf(data)
    assert f"Note for {firm.matter.reference}" in text and "Disclosure" in text
    audit = db.session.scalar(
        select(WorkflowEvent).where(WorkflowEvent.event_type == "document.rendered")
    )
    assert audit.payload["documentId"] == document.id
    assert audit.payload["sha256"] == document.sha256


def test_render_fails_the_step_clearly_when_no_version_is_published(firm):
    template_id = publish(firm.api, "Notes", [render_step(templateKey="nothing_here")])
    instance = start(firm.api, template_id, firm.matter.id)
    run_worker()
    after = reload(firm.api, instance["id"])
    assert states(after) == {"render": "FAILED"}
    assert after["status"] == "Failed"
    assert db.session.scalar(select(Document.id)) is None
    assert after["stepData"]["render"]["error"] == (
        "There is no published document template 'nothing_here'."
    )


def test_an_html_template_asked_for_as_docx_fails_the_step_clearly(firm, note):
    template_id = publish(firm.api, "Notes", [render_step(format="docx")])
    instance = start(firm.api, template_id, firm.matter.id)
    run_worker()
    after = reload(firm.api, instance["id"])
    assert states(after) == {"render": "FAILED"}
    assert after["stepData"]["render"]["error"] == (
        "The document template 'note' is HTML: it renders to PDF only."
    )


def test_attaching_a_document_of_another_matter_fails_the_email_and_sends_nothing(
    app, firm, note, make_matter, monkeypatch
):
    other = make_matter(firm.lawyer)
    stranger = file_document(
        org_id=firm.lawyer.org_id,
        matter_id=other.id,
        name="other.pdf",
        data=b"%PDF-1.4 other matter",
        content_type="application/pdf",
        source=DocumentSource.UPLOAD,
    )
    db.session.commit()
    template_id = publish(firm.api, "Notes", [render_step(), email_step([stranger.id])])
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        instance = start(firm.api, template_id, firm.matter.id, parameters={"topic": "x"})
        run_worker()
    after = reload(firm.api, instance["id"])
    assert states(after) == {"render": "COMPLETED", "send": "FAILED"}
    assert inbox.messages == []
    assert after["stepData"]["send"]["error"] == (
        f"Cannot attach document {stranger.id}: it is not a document of this matter."
    )


def test_attachments_over_the_size_cap_fail_the_email_with_the_sizes(app, firm, note, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_ATTACHMENT_MAX_BYTES", 1000)
    attachments = ["{{ steps.render.documentId }}"]
    template_id = publish(firm.api, "Notes", [render_step(), email_step(attachments)])
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        instance = start(firm.api, template_id, firm.matter.id, parameters={"topic": "x"})
        run_worker()
    after = reload(firm.api, instance["id"])
    assert states(after) == {"render": "COMPLETED", "send": "FAILED"}
    assert inbox.messages == []
    size = db.session.get(Document, after["stepData"]["render"]["documentId"]).size
    assert 1000 < size < 1024 * 1024
    assert after["stepData"]["send"]["error"] == (
        f"The attachments come to {-(-size // 1024)} KB; an email may carry at most 1 KB."
    )


def test_an_attachment_that_is_not_a_document_id_is_refused_when_the_template_is_saved(firm):
    response = firm.api.post(
        "/templates", json={"name": "Bad", "steps": [render_step(), email_step(["letter.pdf"])]}
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY, response.json
    assert "'letter.pdf' is not a document id" in str(response.json["error"]["details"])
