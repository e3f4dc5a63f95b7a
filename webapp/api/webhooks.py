"""Provider webhooks, authenticated by HMAC signature instead of a session or token."""

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from webapp.adapters import providers
from webapp.api.blueprint import api
from webapp.api.spec import endpoint
from webapp.engine.errors import Invalid
from webapp.services import steps

TAG = "Webhooks"


def _reference(payload: dict, field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value:
        raise Invalid(f"The webhook body needs {field}.")
    return value


def _confirm(ref: str, payload: dict) -> ResponseReturnValue:
    step_id, signer = steps.provider_step(ref, payload)
    changed = steps.perform(signer, step_id, steps.ProviderConfirmed(ref, payload))
    return jsonify(
        {"received": True, "instanceId": changed.instance_id, "status": changed.instance.status}
    )


@endpoint(
    api,
    "/webhooks/esign/<provider>",
    "POST",
    summary="E-signature provider events",
    tag=TAG,
    auth=False,
)
def esign_webhook(provider: str) -> ResponseReturnValue:
    payload = providers.verify(request.get_data(), request.headers.get(providers.SIGNATURE_HEADER))
    return _confirm(_reference(payload, "sessionId"), payload)


@endpoint(
    api,
    "/webhooks/payments/<provider>",
    "POST",
    summary="Payment provider events",
    tag=TAG,
    auth=False,
)
def payment_webhook(provider: str) -> ResponseReturnValue:
    payload = providers.verify(request.get_data(), request.headers.get(providers.SIGNATURE_HEADER))
    return _confirm(_reference(payload, "intentId"), payload)


@endpoint(
    api,
    "/webhooks/uploads/<provider>",
    "POST",
    summary="Upload provider events",
    tag=TAG,
    auth=False,
)
def upload_webhook(provider: str) -> ResponseReturnValue:
    payload = providers.verify(request.get_data(), request.headers.get(providers.SIGNATURE_HEADER))
    raise Invalid(
        f"Upload provider {provider!r} is not configured; uploads go through the step.",
        {"event": payload.get("event")},
    )
