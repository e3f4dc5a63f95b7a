"""Stripe, through its official library: a Checkout Session for a payment step, and the
signed events Stripe sends back. The API's address comes from STRIPE_API_BASE (empty:
the library's own), so the tests point it at a stand-in on loopback."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe
from flask import current_app

from webapp.engine.actions.payment import minor_units
from webapp.engine.errors import Unauthenticated, Unavailable, Unprocessable

NAME = "stripe"
SIGNATURE_HEADER = "Stripe-Signature"
# Stripe retries on its own side; one network retry of ours, with the same key, is safe.
NETWORK_RETRIES = 1


@dataclass(frozen=True)
class Checkout:
    amount: Decimal
    currency: str
    step_id: int
    org_id: int
    title: str
    success_url: str
    cancel_url: str
    idempotency_key: str


def _client(api_key: str) -> stripe.StripeClient:
    base = current_app.config.get("STRIPE_API_BASE") or ""
    addresses: Any = {"api": base.rstrip("/")} if base else None
    return stripe.StripeClient(
        api_key, base_addresses=addresses, max_network_retries=NETWORK_RETRIES
    )


def create_checkout_session(api_key: str, checkout: Checkout) -> dict[str, str]:
    """The session's id and the address the client pays at. The idempotency key makes a
    repeated call (a retried request, a rescued job) answer the first session."""
    params: Any = {
        "mode": "payment",
        "client_reference_id": str(checkout.step_id),
        "metadata": {"stepId": str(checkout.step_id), "orgId": str(checkout.org_id)},
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": checkout.currency.lower(),
                    "unit_amount": minor_units(checkout.amount, checkout.currency),
                    "product_data": {"name": checkout.title[:250]},
                },
            }
        ],
        "success_url": checkout.success_url,
        "cancel_url": checkout.cancel_url,
    }
    try:
        session = _client(api_key).v1.checkout.sessions.create(
            params, options={"idempotency_key": checkout.idempotency_key}
        )
    except stripe.AuthenticationError:
        raise Unprocessable(
            "Stripe refused the firm's STRIPE_SECRET_KEY: an admin must check it in "
            "Admin → Secrets."
        ) from None
    except stripe.InvalidRequestError as error:
        raise Unprocessable(f"Stripe refused the payment: {error.user_message or error}") from None
    except stripe.StripeError:
        raise Unavailable(
            "Stripe did not answer, so no payment was opened. Try again in a moment."
        ) from None
    return {"id": str(session.id), "url": str(session.url or "")}


def verified_event(body: bytes, header: str | None, secret: str) -> dict[str, Any]:
    """The event of a webhook Stripe signed with the firm's webhook secret (within the
    library's five-minute tolerance); Unauthenticated otherwise."""
    try:
        event = stripe.Webhook.construct_event(body, header, secret)
    except stripe.SignatureVerificationError:
        raise Unauthenticated("The Stripe signature does not match.") from None
    except ValueError:
        raise Unprocessable("The Stripe event is not JSON.") from None
    return dict(event.to_dict())
