"""Webhook triggers: `POST /hooks/{triggerId}`, signed by the sender with the trigger's
secret as `X-Matterflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw
body>">` and named by `X-Matterflow-Delivery`. A signature more than five minutes away
from our clock is refused, so a captured request cannot be replayed later; a delivery
sent again answers its first firing and starts nothing."""

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from webapp.engine.errors import Conflict, Invalid, NotFound, TooLarge, Unauthenticated
from webapp.extensions import db
from webapp.models import Trigger
from webapp.models.triggers import TriggerKind
from webapp.persistence.transaction import transactional
from webapp.services.clock import now
from webapp.services.triggers.firing import Fired, fire

SIGNATURE_HEADER = "X-Matterflow-Signature"
DELIVERY_HEADER = "X-Matterflow-Delivery"
WINDOW_SECONDS = 300
MAX_DELIVERY_ID = 100
# A body is kept on the firing and the instance (`trigger.data`): an intake form, not a file.
MAX_BODY_BYTES = 256 * 1024


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The header a sender sends: what an integration (and our tests) computes."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, body: bytes, header: str | None, at: datetime) -> None:
    """Unauthenticated unless `header` signs `body` with `secret` within the window."""
    if not header:
        raise Unauthenticated(f"The request has no {SIGNATURE_HEADER} header.")
    try:
        parts = dict(item.strip().split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        raise Unauthenticated(
            f"The {SIGNATURE_HEADER} header is malformed: send t=<unix seconds>,v1=<hex>."
        ) from None
    if abs(at.timestamp() - timestamp) > WINDOW_SECONDS:
        raise Unauthenticated(
            "The signature's timestamp is more than five minutes from our clock; sign "
            "the request again when you send it."
        )
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise Unauthenticated("The signature does not match this trigger's secret.")


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise Invalid("The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise Invalid("The body must be a JSON object.")
    return payload


def _delivery(delivery_id: str | None) -> str:
    delivery = (delivery_id or "").strip()
    if not delivery:
        raise Invalid(f"Send a {DELIVERY_HEADER} header: a unique id for this delivery.")
    if len(delivery) > MAX_DELIVERY_ID:
        raise Invalid(f"The {DELIVERY_HEADER} header is longer than {MAX_DELIVERY_ID} characters.")
    return delivery


@transactional
def receive(
    trigger_id: int, body: bytes, signature_header: str | None, delivery_id: str | None
) -> Fired:
    """Verify and fire. Refused (and nothing written): an unknown trigger (NotFound), a
    bad or stale signature (Unauthenticated), a disabled trigger (Conflict)."""
    trigger = db.session.scalar(
        select(Trigger).where(Trigger.id == trigger_id, Trigger.kind == TriggerKind.WEBHOOK)
    )
    if trigger is None or not trigger.secret:
        raise NotFound(f"There is no webhook trigger {trigger_id}.")
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge(f"A hook's body may be {MAX_BODY_BYTES // 1024} KB at most.")
    at = now()
    verify(trigger.secret, body, signature_header, at)
    if not trigger.enabled:
        raise Conflict(f"The trigger {trigger.name!r} is disabled; an admin can enable it.")
    key = f"delivery:{_delivery(delivery_id)}"
    return fire(trigger, key, _payload(body), at)
