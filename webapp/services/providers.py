"""The sandbox provider's pages: where a signature or payment step continues, and the
person's confirmation there, delivered as the signed webhook a real provider sends."""

from typing import Any

from webapp.adapters.providers import deliver_sandbox_webhook
from webapp.engine.errors import Conflict, Invalid, NotAllowed, NotFound, Unprocessable
from webapp.models.base import utcnow
from webapp.persistence.transaction import transactional

SANDBOX_KINDS = {"esign": ("sessionId", "sbx_sig_"), "payments": ("intentId", "sbx_pay_")}


@transactional
def open_provider_page(user: Any, step_id: int) -> str:
    """Where a signature or payment step continues: its provider page. A READY step is
    started first, which opens the provider session (one transaction, audited)."""
    from webapp.services import steps  # steps imports this module for the adapters

    loaded = steps.load_step(step_id, user)
    if loaded.step.action_state == "READY":
        steps.transition(user, step_id, "start")
    url = (loaded.step.action_data or {}).get("url")
    if not url:
        raise Invalid(f"The step {loaded.step.title!r} has no provider page.")
    return str(url)


ERRORS_BY_STATUS = {403: NotAllowed, 404: NotFound, 409: Conflict, 422: Unprocessable}


def complete_in_sandbox(user: Any, kind: str, reference: str) -> int:
    """The person confirmed on the sandbox page: deliver the signed webhook a real provider
    would send. Our webhook checks the signature and the person's eligibility and
    completes the step; returns the instance id."""
    from webapp.services import steps

    field, prefix = SANDBOX_KINDS[kind]
    if not reference.startswith(prefix):
        raise NotFound(f"No sandbox session {reference!r}.")
    step = steps.step_by_external_ref(reference)
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
