"""Provider adapters for e-signature and payments. The built-in one is a labelled
sandbox: it opens sessions locally and, when the person acts on its page, delivers a
webhook signed exactly like a real provider's to our own webhook endpoint."""

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

from flask import current_app

from webapp.adapters import signature_page
from webapp.adapters.signature_page import Signer
from webapp.engine.errors import Invalid, NotAllowed

SIGNATURE_HEADER = "X-Matterflow-Signature"
MAX_SKEW_SECONDS = 300


class EsignProvider(Protocol):
    def open_session(self, step_id: int, document_id: str) -> dict[str, Any]: ...

    def signed_copy(self, session_id: str, original: bytes, signer: Signer) -> bytes:
        """The signed PDF once the provider reported the signature (a real provider
        downloads it; the sandbox stamps a signature page on the original)."""
        ...


class PaymentProvider(Protocol):
    def create_intent(self, step_id: int, amount: str, currency: str) -> dict[str, Any]: ...


class SandboxEsign:
    name = "sandbox"

    def open_session(self, step_id: int, document_id: str) -> dict[str, Any]:
        session_id = f"sbx_sig_{secrets.token_hex(8)}"
        return {
            "sessionId": session_id,
            "documentId": document_id,
            "url": f"/sandbox/esign/{session_id}",
        }

    def signed_copy(self, session_id: str, original: bytes, signer: Signer) -> bytes:
        return signature_page.stamp(original, signer, session_id)


class SandboxPayments:
    name = "sandbox"

    def create_intent(self, step_id: int, amount: str, currency: str) -> dict[str, Any]:
        intent_id = f"sbx_pay_{secrets.token_hex(8)}"
        return {
            "intentId": intent_id,
            "amount": amount,
            "currency": currency,
            "url": f"/sandbox/pay/{intent_id}",
        }


@dataclass(frozen=True)
class ProviderChoice:
    """A provider a firm may choose in Admin → Providers, and the firm secrets it needs
    before a step can start with it (Admin → Secrets)."""

    name: str
    label: str
    needs: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


PAYMENT_CHOICES = {
    "sandbox": ProviderChoice("sandbox", "Sandbox — no real money"),
    "stripe": ProviderChoice("stripe", "Stripe", ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")),
}
ESIGN_CHOICES = {
    "sandbox": ProviderChoice("sandbox", "Sandbox — not a legal signature"),
    "dropbox_sign": ProviderChoice(
        "dropbox_sign", "Dropbox Sign", ("DROPBOX_SIGN_API_KEY",), ("DROPBOX_SIGN_CLIENT_ID",)
    ),
}


class ProviderRegistry:
    def __init__(self) -> None:
        self._esign: dict[str, EsignProvider] = {"sandbox": SandboxEsign()}
        self._payments: dict[str, PaymentProvider] = {"sandbox": SandboxPayments()}

    def esign(self, name: str) -> EsignProvider:
        if name not in self._esign:
            raise Invalid(f"No e-signature provider named {name!r} is configured.")
        return self._esign[name]

    def payments(self, name: str) -> PaymentProvider:
        if name not in self._payments:
            raise Invalid(f"No payment provider named {name!r} is configured.")
        return self._payments[name]


registry = ProviderRegistry()


def sign(body: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = secret or current_app.config["WEBHOOK_SECRET"]
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(body: bytes, header: str | None) -> dict[str, Any]:
    """The decoded body of a correctly signed, recent webhook; NotAllowed otherwise."""
    if not header:
        raise NotAllowed(f"The webhook has no {SIGNATURE_HEADER} header.")
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        raise NotAllowed("The webhook signature header is malformed.") from None
    if abs(time.time() - timestamp) > MAX_SKEW_SECONDS:
        raise NotAllowed("The webhook signature has expired.")
    expected = sign(body, timestamp)
    if not hmac.compare_digest(expected, header.strip()):
        raise NotAllowed("The webhook signature does not match.")
    try:
        payload = json.loads(body)
    except ValueError:
        raise Invalid("The webhook body is not JSON.") from None
    if not isinstance(payload, dict):
        raise Invalid("The webhook body must be a JSON object.")
    return payload


def deliver_sandbox_webhook(kind: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Send a signed webhook through the app's own WSGI stack (the sandbox has no network),
    so the verification and completion path is the one real providers use."""
    body = json.dumps(payload).encode()
    client = current_app.test_client()
    response = client.post(
        f"/api/v1/webhooks/{kind}/sandbox",
        data=body,
        headers={SIGNATURE_HEADER: sign(body), "Content-Type": "application/json"},
    )
    return response.status_code, response.get_json(silent=True) or {}
