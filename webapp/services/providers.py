"""Providers for signature and payment steps: where a step continues (the sandbox's page,
Stripe Checkout, or Dropbox Sign's email), the events providers send back — each checked
for its signature, its provider, the kind of step and what the step asked for before it
goes through the step door — and the firm's choice of provider."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from webapp.adapters import dropbox_sign, stripe_payments
from webapp.adapters.providers import (
    ESIGN_CHOICES,
    PAYMENT_CHOICES,
    ProviderChoice,
    deliver_sandbox_webhook,
)
from webapp.adapters.storage import IncomingFile
from webapp.engine.actions.payment import from_minor_units
from webapp.engine.errors import (
    Conflict,
    Invalid,
    NotAllowed,
    NotFound,
    Unauthenticated,
    Unprocessable,
)
from webapp.engine.roles import Role
from webapp.engine.states import StepState
from webapp.extensions import db
from webapp.models import InstanceStep, Organization, ResourceLink, SecurityEventKind, User
from webapp.models.base import utcnow
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import transactional
from webapp.services import secrets, security, steps
from webapp.services.provider_sessions import missing_secrets, setup_problem

SANDBOX_KINDS = {"esign": ("sessionId", "sbx_sig_"), "payments": ("intentId", "sbx_pay_")}


def provider_page(user: Any, step_id: int) -> str | None:
    """Where a signature or payment step continues: its provider's page, or None when the
    provider emailed the person instead (Dropbox Sign). A READY step is started first
    through the step door, which opens the provider session."""
    loaded = steps.load_step(step_id, user)
    if loaded.step.action_state == StepState.READY:
        steps.perform(user, step_id, steps.Start())
        loaded = steps.load_step(step_id, user)
    data = loaded.step.action_data or {}
    if data.get("emailedTo"):
        return None
    url = data.get("url")
    if not url:
        raise Invalid(f"The step {loaded.step.title!r} has no provider page.")
    return str(url)


ERRORS_BY_STATUS = {403: NotAllowed, 404: NotFound, 409: Conflict, 422: Unprocessable}


def complete_in_sandbox(user: Any, kind: str, reference: str) -> int:
    """The person confirmed on the sandbox page: deliver the signed webhook a real provider
    would send. Our webhook checks the signature and the person's eligibility and
    completes the step; returns the instance id."""
    field, prefix = SANDBOX_KINDS[kind]
    if not reference.startswith(prefix):
        raise NotFound(f"No sandbox session {reference!r}.")
    step = db.session.scalar(select(InstanceStep).where(InstanceStep.external_ref == reference))
    if step is None:
        raise NotFound(f"No sandbox session {reference!r}.")
    payload: dict[str, Any] = {field: reference, "actorId": user.id}
    if kind == "esign":
        payload.update(event="signed", signedAt=utcnow().isoformat())
    else:
        data = step.action_data or {}
        payload.update(event="succeeded", amount=data.get("amount"), currency=data.get("currency"))
    status, body = deliver_sandbox_webhook(kind, payload)
    if status >= 400:
        error = body.get("error", {})
        raise ERRORS_BY_STATUS.get(status, Invalid)(
            error.get("message", "The provider could not complete this step."),
            error.get("details"),
        )
    return int(body["instanceId"])


# ---- what providers send back ----------------------------------------------------------

PROVIDER_STEP_TYPES = frozenset({"PAYMENT_CLIENT", "SIGNATURE_CLIENT"})
STRIPE_PAID_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
SIGNED_EVENT = "signature_request_all_signed"


@dataclass(frozen=True)
class Received:
    """The answer to a provider: the instance moved, or why the event was left alone."""

    instance_id: int | None = None
    status: str | None = None
    ignored: str | None = None


def _link(provider: str, external_id: Any) -> ResourceLink | None:
    if not isinstance(external_id, str) or not external_id:
        return None
    return db.session.scalar(
        select(ResourceLink).where(
            ResourceLink.provider == provider, ResourceLink.external_id == external_id
        )
    )


def _refused_signature(org_id: int, provider: str, error: Unauthenticated) -> Unauthenticated:
    security.record_security_event(
        org_id,
        SecurityEventKind.ACCESS_REFUSED,
        None,
        {"status": 401, "reason": f"{provider} webhook signature refused", **security.where()},
    )
    return error


def _firm_secret(org_id: int, name: str, provider: str) -> str:
    value = secrets.reveal(org_id, name)
    if not value:
        raise Unprocessable(f"The firm has no {name}, so {provider} events cannot be checked.")
    return value


def _acting(person_id: Any) -> User:
    """Who opened the session, acting again through the door (which checks they still may)."""
    person = db.session.get(User, person_id) if isinstance(person_id, int) else None
    if person is None:
        raise NotAllowed("The provider's event names no one who may act on the step.")
    return person


def stripe_event(body: bytes, signature: str | None) -> Received:
    """A Stripe webhook: checked with the webhook secret of the firm whose Checkout Session
    it names, then a paid session completes its payment step through the door with the
    amount and currency Stripe reports (the handler compares them with the step's)."""
    if not signature:
        raise Unauthenticated(f"The Stripe event has no {stripe_payments.SIGNATURE_HEADER} header.")
    try:
        unverified = json.loads(body)
        session = unverified["data"]["object"]
    except (ValueError, KeyError, TypeError):
        raise Invalid("The Stripe event is not an event.") from None
    link = _link(stripe_payments.NAME, session.get("id") if isinstance(session, dict) else None)
    if link is None or link.step_id is None:
        return Received(ignored="not a Checkout Session of ours")
    secret = _firm_secret(link.org_id, "STRIPE_WEBHOOK_SECRET", "Stripe")
    try:
        event = stripe_payments.verified_event(body, signature, secret)
    except Unauthenticated as error:
        raise _refused_signature(link.org_id, stripe_payments.NAME, error) from None
    if event.get("type") not in STRIPE_PAID_EVENTS:
        return Received(ignored=f"{event.get('type')} needs nothing of us")
    paid = event["data"]["object"]
    if paid.get("payment_status") != "paid":
        return Received(ignored="the session is not paid yet")
    if str(paid.get("client_reference_id")) != str(link.step_id):
        raise Invalid("The Checkout Session names another step.")
    step = db.session.get(InstanceStep, link.step_id)
    payer = _acting((step.action_data or {}).get("payerId") if step else None)
    currency = str(paid.get("currency") or "")
    payload = {
        "event": "succeeded",
        "actorId": payer.id,
        "amount": str(from_minor_units(paid.get("amount_total") or 0, currency)),
        "currency": currency.upper(),
        "sessionId": paid.get("id"),
    }
    changed = steps.perform(
        payer,
        link.step_id,
        steps.ProviderConfirmed(
            link.external_id, payload, provider=stripe_payments.NAME, for_type="PAYMENT_CLIENT"
        ),
    )
    return Received(changed.instance_id, changed.instance.status)


def dropbox_sign_event(form_json: str | None, body: bytes) -> Received:
    """A Dropbox Sign callback: checked with the API key of the firm whose signature request
    it names (an HMAC of the event's time and type); when everyone has signed, the signed
    PDF is fetched and the step completes through the door, filing it as the document's
    next version."""
    event = dropbox_sign.parse_callback(form_json, body)
    request = event.signature_request
    link = _link(dropbox_sign.NAME, request.signature_request_id if request else None)
    if link is None or link.step_id is None:
        return Received(ignored="not a signature request of ours")
    api_key = _firm_secret(link.org_id, "DROPBOX_SIGN_API_KEY", "Dropbox Sign")
    try:
        dropbox_sign.check_callback(api_key, event)
    except Unauthenticated as error:
        raise _refused_signature(link.org_id, dropbox_sign.NAME, error) from None
    if event.event.event_type != SIGNED_EVENT:
        return Received(ignored=f"{event.event.event_type} needs nothing of us")
    step = db.session.get(InstanceStep, link.step_id)
    data = (step.action_data or {}) if step else {}
    signer = _acting(data.get("signerId"))
    if step is not None and step.action_state == StepState.COMPLETED:
        return Received(ignored="the step is already complete")
    signed = dropbox_sign.signed_pdf(api_key, link.external_id)
    signed_at = _moment(event.event.event_time)
    payload = {"event": "signed", "actorId": signer.id, "signedAt": signed_at}
    title = (request.title if request else None) or "signed document"
    changed = steps.perform(
        signer,
        link.step_id,
        steps.ProviderConfirmed(
            link.external_id,
            payload,
            provider=dropbox_sign.NAME,
            for_type="SIGNATURE_CLIENT",
            document=IncomingFile(f"{title} (signed).pdf", "application/pdf", signed),
        ),
    )
    return Received(changed.instance_id, changed.instance.status)


def _moment(event_time: Any) -> str:
    try:
        return datetime.fromtimestamp(int(event_time), UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return utcnow().isoformat()


# ---- the firm's choice -------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderOption:
    choice: ProviderChoice
    chosen: bool
    missing: list[str]


@dataclass(frozen=True)
class FirmProviders:
    payments: list[ProviderOption]
    esign: list[ProviderOption]


def _options(org_id: int, choices: dict[str, ProviderChoice], chosen: str) -> list[ProviderOption]:
    return [
        ProviderOption(choice, name == chosen, missing_secrets(org_id, choice))
        for name, choice in choices.items()
    ]


def firm_providers(actor: User) -> FirmProviders:
    _require_admin(actor)
    org = db.session.get(Organization, actor.org_id)
    assert org is not None  # the actor's firm
    return FirmProviders(
        _options(org.id, PAYMENT_CHOICES, org.payment_provider),
        _options(org.id, ESIGN_CHOICES, org.esign_provider),
    )


def step_setup_problem(org: Organization, action_type: str, configured: str | None) -> str | None:
    """Why a payment or signature step of this firm cannot start yet, in plain words."""
    if action_type == "PAYMENT_CLIENT":
        area, choices, chosen = "payments", PAYMENT_CHOICES, configured or org.payment_provider
    elif action_type == "SIGNATURE_CLIENT":
        area, choices, chosen = "esign", ESIGN_CHOICES, configured or org.esign_provider
    else:
        return None
    choice = choices.get(chosen)
    return setup_problem(area, choice, missing_secrets(org.id, choice)) if choice else None


def _require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise NotAllowed("Only the firm's admins choose its providers.")


@transactional
def choose_providers(actor: User, payments: str, esign: str) -> Organization:
    """The firm's payment and e-signature providers, for steps that name none. A provider
    may be chosen before its keys are added; its steps say what is missing."""
    _require_admin(actor)
    problems = []
    if payments not in PAYMENT_CHOICES:
        problems.append(
            {"field": "payments", "message": f"{payments!r} is not a payment provider."}
        )
    if esign not in ESIGN_CHOICES:
        problems.append({"field": "esign", "message": f"{esign!r} is not an e-signature provider."})
    if problems:
        raise Unprocessable("Choose one of the listed providers.", problems)
    org = db.session.get(Organization, actor.org_id, with_for_update=True)
    assert org is not None  # the actor's firm
    before = {"payments": org.payment_provider, "esign": org.esign_provider}
    org.payment_provider, org.esign_provider = payments, esign
    after = {"payments": payments, "esign": esign}
    if before != after:
        record_event(
            org_id=org.id,
            event_type="firm.providers_changed",
            actor_id=actor.id,
            payload={"from": before, "to": after},
        )
    return org
