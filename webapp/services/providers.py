"""The sandbox provider's pages: where a signature or payment step continues, and the
person's confirmation there, delivered as the signed webhook a real provider sends."""

from typing import Any

from sqlalchemy import select

from webapp.adapters.providers import deliver_sandbox_webhook
from webapp.engine.errors import Conflict, Invalid, NotAllowed, NotFound, Unprocessable
from webapp.engine.states import StepState
from webapp.extensions import db
from webapp.models import InstanceStep
from webapp.models.base import utcnow
from webapp.services import steps

SANDBOX_KINDS = {"esign": ("sessionId", "sbx_sig_"), "payments": ("intentId", "sbx_pay_")}


def provider_page(user: Any, step_id: int) -> str:
    """Where a signature or payment step continues: its provider's page. A READY step is
    started first through the step door, which opens the provider session."""
    loaded = steps.load_step(step_id, user)
    if loaded.step.action_state == StepState.READY:
        steps.perform(user, step_id, steps.Start())
        loaded = steps.load_step(step_id, user)
    url = (loaded.step.action_data or {}).get("url")
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
