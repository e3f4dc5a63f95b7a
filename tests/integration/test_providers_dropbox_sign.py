"""Dropbox Sign for client signatures (issue 16, points 3 and 5), against a local stand-in
of its API: the matter's document is sent to the client by email with the step's
idempotency key in its metadata; the signed callback (HMAC with the firm's API key)
completes the step through the door and files the signed PDF as the document's next
version; a bad hash changes nothing; a lost commit sends nothing twice."""

import json
from http import HTTPStatus

import pytest
from sqlalchemy import event, func, select

from tests.integration.provider_standins import SIGNED_PDF, file_bytes
from tests.integration.provider_support import (
    LETTER,
    ClientFirm,
    dropbox_event,
    event_count,
    fresh_step,
    letter,
    signature_step,
)
from webapp.adapters import storage
from webapp.extensions import db
from webapp.models import (
    Document,
    ResourceLink,
    SecurityEvent,
    SecurityEventKind,
    WorkflowEvent,
)
from webapp.services import resource_links


def _sign(firm: ClientFirm, login_as, step_id: int):
    return login_as(firm.client).post(f"/steps/{step_id}/provider", htmx=True)


def _sent_request(dropbox_api) -> dict:
    return next(iter(dropbox_api.sent.values()))


def test_starting_a_signature_sends_the_matter_document_to_the_client_by_email(
    dropbox_firm, dropbox_api, login_as
) -> None:
    original = letter(dropbox_firm)
    step_id = signature_step(dropbox_firm, original.id)
    answer = _sign(dropbox_firm, login_as, step_id)
    assert answer.status_code == HTTPStatus.OK, answer.get_data(as_text=True)
    [sent] = dropbox_api.sends()
    assert file_bytes(sent) == LETTER
    form = {k: v[0] for k, v in sent.form.items()}
    [signer] = json.loads(form["signers"])
    assert signer["email_address"] == dropbox_firm.client.email
    key = resource_links.idempotency_key(step_id, 0, "signature")
    assert f'"idempotencyKey": "{key}"' in form["metadata"]
    assert f'"stepId": "{step_id}"' in form["metadata"]
    step = fresh_step(step_id)
    request_id = _sent_request(dropbox_api)["signature_request_id"]
    assert step.action_state == "IN_PROGRESS" and step.external_ref == request_id
    assert step.action_data["emailedTo"] == dropbox_firm.client.email
    link = db.session.scalar(select(ResourceLink))
    assert (link.provider, link.external_id, link.idempotency_key) == (
        "dropbox_sign",
        request_id,
        key,
    )
    page = login_as(dropbox_firm.client).get(answer.headers["HX-Redirect"])
    assert "Dropbox Sign has emailed the document" in page.get_data(as_text=True)


def test_a_callback_with_a_bad_hash_is_refused_and_changes_nothing(
    dropbox_firm, dropbox_api, login_as, provider
) -> None:
    step_id = signature_step(dropbox_firm, letter(dropbox_firm).id)
    _sign(dropbox_firm, login_as, step_id)
    before = event_count()
    refused = provider.post(
        "/api/v1/webhooks/dropbox-sign",
        data=dropbox_event(_sent_request(dropbox_api), key="not-the-firm-key"),
    )
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.json["error"]["code"] == "unauthorized"
    assert fresh_step(step_id).action_state == "IN_PROGRESS"
    assert event_count() == before
    assert db.session.scalar(select(func.count()).select_from(Document)) == 1
    security = db.session.scalar(
        select(SecurityEvent).where(SecurityEvent.kind == SecurityEventKind.ACCESS_REFUSED)
    )
    assert security.org_id == dropbox_firm.org.id
    assert security.detail["reason"] == "dropbox_sign webhook signature refused"


def test_all_signed_completes_the_step_and_files_the_signed_pdf_as_version_2(
    dropbox_firm, dropbox_api, login_as, provider
) -> None:
    original = letter(dropbox_firm)
    step_id = signature_step(dropbox_firm, original.id)
    _sign(dropbox_firm, login_as, step_id)
    answer = provider.post(  # as Dropbox Sign posts it: multipart, the event in `json`
        "/api/v1/webhooks/dropbox-sign",
        data=dropbox_event(_sent_request(dropbox_api)),
        content_type="multipart/form-data",
    )
    assert answer.status_code == HTTPStatus.OK, answer.get_data(as_text=True)
    assert answer.get_data(as_text=True) == "Hello API Event Received"
    step = fresh_step(step_id)
    assert step.action_state == "COMPLETED" and step.action_data["signed"] is True
    signed = db.session.scalar(select(Document).where(Document.version == 2))
    assert signed.lineage_id == original.lineage_id and signed.source == "signature"
    assert signed.step_id == step_id and signed.shared_with_client
    assert (storage.root() / signed.storage_path).read_bytes() == SIGNED_PDF
    completed = db.session.scalar(
        select(WorkflowEvent).where(
            WorkflowEvent.step_id == step_id, WorkflowEvent.event_type == "step.complete"
        )
    )
    assert completed.actor_id == dropbox_firm.client.id
    assert completed.payload["originalSha256"] == original.sha256
    assert completed.payload["signedSha256"] == signed.sha256
    assert [r.path for r in dropbox_api.requests if "/files/" in r.path] == [
        f"/v3/signature_request/files/{step.external_ref}"
    ]


def test_other_callbacks_are_acknowledged_and_change_nothing(
    dropbox_firm, dropbox_api, login_as, provider
) -> None:
    step_id = signature_step(dropbox_firm, letter(dropbox_firm).id)
    _sign(dropbox_firm, login_as, step_id)
    viewed = provider.post(
        "/api/v1/webhooks/dropbox-sign",
        data=dropbox_event(_sent_request(dropbox_api), kind="signature_request_viewed"),
    )
    assert viewed.status_code == HTTPStatus.OK
    assert viewed.get_data(as_text=True) == "Hello API Event Received"
    assert fresh_step(step_id).action_state == "IN_PROGRESS"


def test_a_request_lost_after_sending_then_retried_sends_no_second_envelope(
    dropbox_firm, dropbox_api, login_as
) -> None:
    """The request dies after Dropbox Sign made the request and before our commit. Dropbox
    Sign has no idempotency header: the retry finds the request by the key in its
    metadata, and the document is sent once."""
    step_id = signature_step(dropbox_firm, letter(dropbox_firm).id)

    def die_on_link(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO RESOURCE_LINKS"):
            raise RuntimeError("the server died before its commit")

    event.listen(db.engine, "before_cursor_execute", die_on_link)
    try:
        lost = _sign(dropbox_firm, login_as, step_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", die_on_link)
    assert lost.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    db.session.rollback()
    assert fresh_step(step_id).action_state == "READY"
    retried = _sign(dropbox_firm, login_as, step_id)
    assert retried.status_code == HTTPStatus.OK
    key = resource_links.idempotency_key(step_id, 0, "signature")
    assert dropbox_api.per_key[key] == 1 and len(dropbox_api.sends()) == 1
    assert fresh_step(step_id).external_ref == _sent_request(dropbox_api)["signature_request_id"]


def test_a_document_of_another_matter_is_not_sent_for_signature(
    dropbox_firm, dropbox_api, login_as, make_matter
) -> None:
    other = make_matter(dropbox_firm.lawyer)
    foreign = letter(dropbox_firm)
    foreign_row = db.session.get(Document, foreign.id)
    foreign_row.matter_id = other.id
    db.session.commit()
    step_id = signature_step(dropbox_firm, foreign.id)
    answer = _sign(dropbox_firm, login_as, step_id)
    assert answer.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "not a document of this matter" in answer.get_data(as_text=True)
    assert dropbox_api.sends() == []
    assert fresh_step(step_id).action_state == "READY"


def test_a_dropped_connection_after_sending_is_retried_and_finds_the_request_sent(
    dropbox_firm, dropbox_api, login_as, dialect
) -> None:
    """PostgreSQL really drops the connection as the link is written, after Dropbox Sign
    made the request: the door runs again, finds the request by its key, and sends none."""
    if dialect != "postgresql":
        pytest.skip("a connection the database drops is PostgreSQL's case")
    from tests.integration.test_database_faults import dropped_connections

    step_id = signature_step(dropbox_firm, letter(dropbox_firm).id)
    with dropped_connections("INSERT INTO resource_links", times=1) as ended:
        answer = _sign(dropbox_firm, login_as, step_id)
    assert ended and answer.status_code == HTTPStatus.OK
    assert len(dropbox_api.sends()) == 1
    assert db.session.scalar(select(func.count()).select_from(ResourceLink)) == 1
    assert fresh_step(step_id).action_state == "IN_PROGRESS"
