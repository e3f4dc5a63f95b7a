"""Opening a payment or signature with the firm's provider, for the step door: what a
handler's `ctx.providers` is. An empty provider in the step's config is the firm's
choice (Admin → Providers). A real provider's keys are the firm's secrets; a provider
missing one is a plain message where the step would start, and the step stays READY.

Whatever a real provider creates is recorded as a ResourceLink in the door's own
transaction, with the idempotency key sent downstream; before creating, the link is
looked up first, so a retried request or a rescued run reuses what exists."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import url_for
from sqlalchemy import select

from webapp.adapters import dropbox_sign, storage, stripe_payments
from webapp.adapters.providers import ESIGN_CHOICES, PAYMENT_CHOICES, ProviderChoice, registry
from webapp.engine.errors import Invalid, Unprocessable
from webapp.extensions import db
from webapp.models import (
    Document,
    InstanceStep,
    Organization,
    Secret,
    User,
    WorkflowInstance,
)
from webapp.services import documents, resource_links, secrets

CHECKOUT = "checkout_session"
SIGNATURE_REQUEST = "signature_request"
AREAS = {"payments": "Payments", "esign": "E-signatures"}


def missing_secrets(org_id: int, choice: ProviderChoice) -> list[str]:
    """The secrets the provider needs that the firm has not added (names only: nothing is
    decrypted to answer)."""
    if not choice.needs:
        return []
    present = set(
        db.session.scalars(
            select(Secret.name).where(Secret.org_id == org_id, Secret.name.in_(choice.needs))
        )
    )
    return [name for name in choice.needs if name not in present]


def setup_problem(area: str, choice: ProviderChoice, missing: list[str]) -> str | None:
    """What the step page says when the firm's provider cannot start a step yet."""
    if not missing:
        return None
    names = " and ".join(missing)
    return (
        f"{AREAS[area]} are not set up: an admin must add {names} in Admin → Secrets "
        f"(provider: {choice.label})."
    )


def _require_keys(org_id: int, area: str, choice: ProviderChoice) -> dict[str, str]:
    problem = setup_problem(area, choice, missing_secrets(org_id, choice))
    if problem:
        raise Unprocessable(problem)
    names = choice.needs + choice.optional
    return {name: value for name in names if (value := secrets.reveal(org_id, name))}


@dataclass
class StepProviders:
    """The providers for one step, as its handler sees them (ActionContext.providers)."""

    instance: WorkflowInstance
    step: InstanceStep
    actor_id: int | None

    @property
    def org(self) -> Organization:
        org = db.session.get(Organization, self.instance.org_id)
        assert org is not None  # the instance's firm
        return org

    def payments(self, name: str | None) -> Any:
        chosen = PAYMENT_CHOICES.get(name or self.org.payment_provider)
        if chosen is None:
            raise Invalid(f"No payment provider named {name!r} is configured.")
        if chosen.name == stripe_payments.NAME:
            return _StripeCheckout(self, chosen)
        return _Labelled(registry.payments(chosen.name), chosen.name, self.actor_id)

    def esign(self, name: str | None) -> Any:
        chosen = ESIGN_CHOICES.get(name or self.org.esign_provider)
        if chosen is None:
            raise Invalid(f"No e-signature provider named {name!r} is configured.")
        if chosen.name == dropbox_sign.NAME:
            return _DropboxSignRequest(self, chosen)
        return _Labelled(registry.esign(chosen.name), chosen.name, self.actor_id)

    def key(self, purpose: str) -> str:
        return resource_links.idempotency_key(self.step.id, self.step.attempt or 0, purpose)

    def record(self, provider: str, kind: str, created: dict[str, str], key: str) -> None:
        resource_links.record(
            org_id=self.instance.org_id,
            step_id=self.step.id,
            provider=provider,
            kind=kind,
            external_id=created["id"],
            key=key,
            url=created.get("url", "")[:500],
            attempt=self.step.attempt or 0,
        )

    def signer(self) -> User:
        """Who signs: the person who started the step (the permission table lets only the
        step's client start it)."""
        actor = db.session.get(User, self.actor_id) if self.actor_id else None
        if actor is None:
            raise Invalid("A signature step is started by the client who signs.")
        return actor

    def runner_url(self) -> str:
        return url_for(
            "web.runner.show",
            matter_id=self.instance.matter_id,
            instance_id=self.instance.id,
            _external=True,
        )


class _Labelled:
    """The sandbox, saying which provider (and who acts): the webhook checks both."""

    def __init__(self, provider: Any, name: str, actor_id: int | None) -> None:
        self.provider, self.name, self.actor_id = provider, name, actor_id

    def create_intent(self, step_id: int, amount: str, currency: str) -> dict[str, Any]:
        intent = self.provider.create_intent(step_id, amount, currency)
        return {**intent, "provider": self.name, "payerId": self.actor_id}

    def open_session(self, step_id: int, document_id: str) -> dict[str, Any]:
        session = self.provider.open_session(step_id, document_id)
        return {**session, "provider": self.name, "signerId": self.actor_id}


@dataclass
class _StripeCheckout:
    step_providers: StepProviders
    choice: ProviderChoice

    def create_intent(self, step_id: int, amount: str, currency: str) -> dict[str, Any]:
        here = self.step_providers
        keys = _require_keys(here.instance.org_id, "payments", self.choice)
        key = here.key("checkout")
        link = resource_links.find(stripe_payments.NAME, key)
        if link is not None:
            created = {"id": link.external_id, "url": link.url}
        else:
            back = here.runner_url()
            created = stripe_payments.create_checkout_session(
                keys["STRIPE_SECRET_KEY"],
                stripe_payments.Checkout(
                    amount=Decimal(amount),
                    currency=currency,
                    step_id=step_id,
                    org_id=here.instance.org_id,
                    title=here.step.title,
                    success_url=f"{back}?paid={step_id}",
                    cancel_url=back,
                    idempotency_key=key,
                ),
            )
            here.record(stripe_payments.NAME, CHECKOUT, created, key)
        return {
            "intentId": created["id"],
            "amount": amount,
            "currency": currency,
            "url": created["url"],
            "provider": stripe_payments.NAME,
            "payerId": here.actor_id,
        }


@dataclass
class _DropboxSignRequest:
    step_providers: StepProviders
    choice: ProviderChoice

    def open_session(self, step_id: int, document_id: str) -> dict[str, Any]:
        here = self.step_providers
        keys = _require_keys(here.instance.org_id, "esign", self.choice)
        api_key = keys["DROPBOX_SIGN_API_KEY"]
        signer = here.signer()
        key = here.key("signature")
        link = resource_links.find(dropbox_sign.NAME, key)
        created = {"id": link.external_id, "url": link.url} if link else None
        if created is None:
            # Our record of an earlier send may have been lost with its transaction.
            created = dropbox_sign.find_sent(api_key, key)
        if created is None:
            document = matter_document(here.instance, document_id)
            created = dropbox_sign.send(
                api_key,
                dropbox_sign.SignatureRequest(
                    title=here.step.title,
                    filename=document.name,
                    data=document_bytes(document),
                    signer_name=signer.name,
                    signer_email=signer.email,
                    metadata={
                        "stepId": str(step_id),
                        "orgId": str(here.instance.org_id),
                        "idempotencyKey": key,
                    },
                    client_id=keys.get("DROPBOX_SIGN_CLIENT_ID"),
                ),
            )
        if link is None:
            here.record(dropbox_sign.NAME, SIGNATURE_REQUEST, created, key)
        return {
            "sessionId": created["id"],
            "documentId": document_id,
            "provider": dropbox_sign.NAME,
            "signerId": signer.id,
            "emailedTo": signer.email,
        }


def matter_document(instance: WorkflowInstance, document_id: str) -> Document:
    """The step's document: a document of the instance's matter, by its id."""
    found = documents.matter_document(instance.org_id, instance.matter_id, document_id)
    if found is None:
        raise Unprocessable(
            f"The document to sign ({document_id}) is not a document of this matter: "
            "the step's documentId must name one."
        )
    return found


def document_bytes(document: Document) -> bytes:
    with storage.backend().open(document.storage_path) as stream:
        return stream.read()
