"""The sandbox provider pages: a signature and a payment complete their steps through our
own signed webhook, with the same eligibility check as everywhere else."""

import hashlib
import io
from http import HTTPStatus

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from webapp.adapters import storage
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document, InstanceStep, WorkflowEvent, WorkflowInstance
from webapp.services import steps
from webapp.services.seed import demo_letter_pdf


def _step(key: str) -> InstanceStep:
    db.session.expire_all()
    return db.session.scalar(select(InstanceStep).where(InstanceStep.key == key))


@pytest.fixture
def signature_ready(demo) -> InstanceStep:
    """The demo instance with its first three steps done: the signature is READY."""
    step = _step("conflict_check")
    for item in step.action_config["items"]:
        steps.perform(demo.user(Role.PARALEGAL), step.id, steps.Tick(item, True))
    approval = _step("engagement_approval")
    steps.perform(demo.user(Role.LAWYER), approval.id, steps.Complete({"approved": True}))
    upload = steps.IncomingFile("id.pdf", "application/pdf", b"%PDF-1.4\n")
    steps.perform(demo.user(Role.CLIENT), _step("identity_documents").id, steps.Upload([upload]))
    return _step("engagement_letter")


def test_signing_in_the_sandbox_completes_the_step_when_the_client_signs(
    demo, signature_ready, login_as
) -> None:
    web = login_as(demo.user(Role.CLIENT))
    opened = web.post(f"/steps/{signature_ready.id}/provider", htmx=True)
    session = _step("engagement_letter").external_ref
    assert opened.headers["HX-Redirect"] == f"/sandbox/esign/{session}"
    page = web.get(f"/sandbox/esign/{session}").get_data(as_text=True)
    original = db.session.scalar(select(Document).where(Document.name == "Engagement letter.pdf"))
    assert "Sandbox — no real signature." in page and "Engagement letter.pdf" in page
    assert f'src="/documents/{original.id}?inline=1"' in page  # the document itself
    shown = web.get(f"/documents/{original.id}?inline=1")
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "application/pdf"
    signed = web.post(f"/sandbox/esign/{session}")
    instance = db.session.scalar(select(WorkflowInstance))
    assert signed.status_code == HTTPStatus.SEE_OTHER
    assert signed.headers["Location"] == f"/matters/{demo.matter.id}/workflows/{instance.id}"
    step = _step("engagement_letter")
    assert step.action_state == "COMPLETED" and step.action_data["signed"] is True
    complete = db.session.scalar(
        select(WorkflowEvent).where(
            WorkflowEvent.step_id == step.id, WorkflowEvent.event_type == "step.complete"
        )
    )
    assert complete.actor_id == demo.user(Role.CLIENT).id
    assert _step("retainer").action_state == "READY"

    copy = db.session.get(Document, step.action_data["documentId"])
    assert (copy.lineage_id, copy.version, copy.source) == (original.id, 2, "signature")
    assert copy.shared_with_client and copy.step_id == step.id
    with storage.backend().open(copy.storage_path) as stream:
        signed_pdf = stream.read()
    assert hashlib.sha256(signed_pdf).hexdigest() == copy.sha256
    reader = PdfReader(io.BytesIO(signed_pdf))
    last_page = reader.pages[-1].extract_text()
    assert "Casey Client" in last_page and original.sha256 in last_page
    assert len(reader.pages) == len(PdfReader(io.BytesIO(demo_letter_pdf())).pages) + 1
    audited = complete.payload["signedDocument"]
    assert (audited["originalSha256"], audited["sha256"]) == (original.sha256, copy.sha256)


def test_paying_in_the_sandbox_completes_the_workflow_when_the_client_pays(
    demo, signature_ready, login_as
) -> None:
    web = login_as(demo.user(Role.CLIENT))
    web.post(f"/steps/{signature_ready.id}/provider", htmx=True)
    web.post(f"/sandbox/esign/{_step('engagement_letter').external_ref}")
    opened = web.post(f"/steps/{_step('retainer').id}/provider", htmx=True)
    intent = _step("retainer").external_ref
    assert opened.headers["HX-Redirect"] == f"/sandbox/pay/{intent}"
    page = web.get(f"/sandbox/pay/{intent}").get_data(as_text=True)
    assert "Sandbox — no real payment." in page and "1,500.00" in page and "USD" in page
    web.post(f"/sandbox/pay/{intent}")
    assert _step("retainer").action_state == "COMPLETED"
    assert db.session.scalar(select(WorkflowInstance.status)) == "Completed"


def test_sandbox_refuses_with_403_and_changes_nothing_when_a_lawyer_signs_for_the_client(
    demo, signature_ready, login_as
) -> None:
    steps.perform(demo.user(Role.CLIENT), signature_ready.id, steps.Start())
    session = _step("engagement_letter").external_ref
    before = db.session.scalar(select(func.count()).select_from(WorkflowEvent))
    response = login_as(demo.user(Role.LAWYER)).post(f"/sandbox/esign/{session}")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert _step("engagement_letter").action_state == "IN_PROGRESS"
    assert db.session.scalar(select(func.count()).select_from(WorkflowEvent)) == before


def test_sandbox_page_is_not_found_when_the_session_is_unknown(demo, login_as) -> None:
    response = login_as(demo.user(Role.CLIENT)).get("/sandbox/esign/sbx_sig_nothing")
    assert response.status_code == HTTPStatus.NOT_FOUND
