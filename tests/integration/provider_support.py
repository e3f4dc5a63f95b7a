"""A firm whose client pays with Stripe and signs with Dropbox Sign, against the local
stand-ins of both APIs (tests/integration/provider_standins.py)."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import stripe
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import forget_request_user
from tests.integration.engine_support import by_key, make_firm, publish, start, step
from tests.integration.provider_standins import DropboxSignStandIn, StripeStandIn
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import (
    Document,
    DocumentSource,
    InstanceStep,
    Organization,
    User,
    WorkflowEvent,
)
from webapp.services import documents, secrets

STRIPE_KEY = "sk_test_firm"
STRIPE_WEBHOOK_SECRET = "whsec_test_firm"
LETTER = b"%PDF-1.4\n% the engagement letter\n%%EOF\n"


@pytest.fixture
def stripe_api(app: Flask) -> Iterator[StripeStandIn]:
    stand_in = StripeStandIn().start()
    app.config["STRIPE_API_BASE"] = stand_in.base
    try:
        yield stand_in
    finally:
        app.config["STRIPE_API_BASE"] = ""
        stand_in.stop()


@pytest.fixture
def dropbox_api(app: Flask) -> Iterator[DropboxSignStandIn]:
    stand_in = DropboxSignStandIn().start()
    app.config["DROPBOX_SIGN_API_BASE"] = f"{stand_in.base}/v3"
    try:
        yield stand_in
    finally:
        app.config["DROPBOX_SIGN_API_BASE"] = ""
        stand_in.stop()


@dataclass
class ClientFirm:
    org: Organization
    lawyer: User
    client: User
    admin: User
    matter: Any
    api: Any  # the lawyer's

    def choose(self, payments: str = "sandbox", esign: str = "sandbox") -> None:
        org = db.session.get(Organization, self.org.id)
        org.payment_provider, org.esign_provider = payments, esign
        db.session.commit()

    def add_secret(self, name: str, value: str) -> None:
        secrets.store(self.org.id, name, value)
        db.session.commit()


@pytest.fixture
def client_firm(make_org, make_user, make_matter, api_as) -> ClientFirm:
    firm = make_firm(make_org, make_user, make_matter, api_as, Role.CLIENT, Role.ADMIN)
    org = db.session.get(Organization, firm.lawyer.org_id)
    return ClientFirm(
        org, firm.lawyer, firm.people[Role.CLIENT], firm.people[Role.ADMIN], firm.matter, firm.api
    )


@pytest.fixture
def stripe_firm(client_firm: ClientFirm) -> ClientFirm:
    client_firm.choose(payments="stripe")
    client_firm.add_secret("STRIPE_SECRET_KEY", STRIPE_KEY)
    client_firm.add_secret("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET)
    return client_firm


@pytest.fixture
def dropbox_firm(client_firm: ClientFirm) -> ClientFirm:
    client_firm.choose(esign="dropbox_sign")
    client_firm.add_secret("DROPBOX_SIGN_API_KEY", DropboxSignStandIn.API_KEY)
    return client_firm


def payment_step(firm: ClientFirm, amount: str = "1500.00", currency: str = "USD") -> int:
    """A running instance whose only step, a client payment, is READY; its id."""
    config = {"amount": amount, "currency": currency}
    template = publish(
        firm.api,
        "Retainer",
        [
            step(
                "retainer",
                "PAYMENT_CLIENT",
                config=config,
                roleScope="CLIENT",
                title="Pay the retainer",
            )
        ],
    )
    return by_key(start(firm.api, template, firm.matter.id), "retainer")["id"]


def letter(firm: ClientFirm) -> Document:
    document = documents.file_document(
        org_id=firm.org.id,
        matter_id=firm.matter.id,
        name="engagement-letter.pdf",
        data=LETTER,
        content_type="application/pdf",
        source=DocumentSource.UPLOAD,
        uploaded_by_id=firm.lawyer.id,
    )
    db.session.commit()
    return document


def signature_step(firm: ClientFirm, document_id: int) -> int:
    config = {"documentId": str(document_id)}
    template = publish(
        firm.api,
        "Engagement",
        [
            step(
                "sign",
                "SIGNATURE_CLIENT",
                config=config,
                roleScope="CLIENT",
                title="Sign the letter",
            )
        ],
    )
    return by_key(start(firm.api, template, firm.matter.id), "sign")["id"]


def fresh_step(step_id: int) -> InstanceStep:
    db.session.expire_all()
    found = db.session.get(InstanceStep, step_id)
    assert found is not None
    return found


def event_count() -> int:
    return db.session.scalar(select(func.count()).select_from(WorkflowEvent)) or 0


def stripe_event(session: dict[str, Any], kind: str = "checkout.session.completed") -> bytes:
    """A Stripe event as Stripe posts it, about a Checkout Session now paid."""
    paid = {**session, "status": "complete", "payment_status": "paid"}
    event = {
        "id": "evt_test_0001",
        "object": "event",
        "api_version": "2025-01-27",
        "created": int(time.time()),
        "type": kind,
        "data": {"object": paid},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
    }
    return json.dumps(event).encode()


def stripe_headers(body: bytes, secret: str = STRIPE_WEBHOOK_SECRET) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def dropbox_event(
    request: dict[str, Any], kind: str = "signature_request_all_signed", key: str = ""
) -> dict[str, str]:
    """A Dropbox Sign callback as it posts one: the event JSON in the form field `json`,
    its hash an HMAC-SHA256 of the time and type with the firm's API key."""
    import hashlib
    import hmac

    event_time = str(int(time.time()))
    digest = hmac.new(
        (key or DropboxSignStandIn.API_KEY).encode(),
        f"{event_time}{kind}".encode(),
        hashlib.sha256,
    ).hexdigest()
    body = {
        "event": {
            "event_time": event_time,
            "event_type": kind,
            "event_hash": digest,
            "event_metadata": {"related_signature_id": None, "reported_for_account_id": "acc1"},
        },
        "signature_request": {**request, "is_complete": kind == "signature_request_all_signed"},
    }
    return {"json": json.dumps(body)}


class Provider:
    """The provider calling our webhooks: no session, no token (the signature decides)."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()

    def post(self, path: str, **kwargs: Any) -> Any:
        forget_request_user()
        return self.client.post(path, **kwargs)


@pytest.fixture
def provider(app: Flask) -> Provider:
    return Provider(app)
