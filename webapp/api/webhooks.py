"""Provider webhooks, authenticated by the provider's own signature instead of a session
or token. Each endpoint serves one provider and one kind of step: a payment event never
completes a signature step, the sandbox's never a Stripe one."""

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue

from webapp.adapters import dropbox_sign, providers, stripe_payments
from webapp.api.blueprint import api
from webapp.api.spec import endpoint
from webapp.engine.errors import Invalid, NotFound
from webapp.services import providers as provider_service
from webapp.services import steps

TAG = "Webhooks"
SANDBOX = "sandbox"
FORM_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}


def _reference(payload: dict, field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value:
        raise Invalid(f"The webhook body needs {field}.")
    return value


def _sandbox_only(provider: str) -> None:
    """Real providers have endpoints of their own (below), checked their own way."""
    if provider != SANDBOX:
        raise NotFound(f"No webhook endpoint for provider {provider!r} here.")


def _confirm(ref: str, payload: dict, for_type: str) -> ResponseReturnValue:
    step_id, signer = steps.provider_step(ref, payload)
    command = steps.ProviderConfirmed(ref, payload, provider=SANDBOX, for_type=for_type)
    changed = steps.perform(signer, step_id, command)
    return jsonify(
        {"received": True, "instanceId": changed.instance_id, "status": changed.instance.status}
    )


def _received(received: provider_service.Received) -> dict:
    answer: dict = {"received": True}
    if received.ignored:
        answer["ignored"] = received.ignored
    else:
        answer.update(instanceId=received.instance_id, status=received.status)
    return answer


@endpoint(
    api,
    "/webhooks/esign/<provider>",
    "POST",
    summary="E-signature provider events (the sandbox)",
    tag=TAG,
    auth=False,
)
def esign_webhook(provider: str) -> ResponseReturnValue:
    _sandbox_only(provider)
    payload = providers.verify(request.get_data(), request.headers.get(providers.SIGNATURE_HEADER))
    return _confirm(_reference(payload, "sessionId"), payload, "SIGNATURE_CLIENT")


@endpoint(
    api,
    "/webhooks/payments/<provider>",
    "POST",
    summary="Payment provider events (the sandbox)",
    tag=TAG,
    auth=False,
)
def payment_webhook(provider: str) -> ResponseReturnValue:
    _sandbox_only(provider)
    payload = providers.verify(request.get_data(), request.headers.get(providers.SIGNATURE_HEADER))
    return _confirm(_reference(payload, "intentId"), payload, "PAYMENT_CLIENT")


@endpoint(
    api,
    "/webhooks/stripe",
    "POST",
    summary="Stripe events (Checkout Session paid), signed with the firm's webhook secret",
    tag=TAG,
    auth=False,
)
def stripe_webhook() -> ResponseReturnValue:
    received = provider_service.stripe_event(
        request.get_data(), request.headers.get(stripe_payments.SIGNATURE_HEADER)
    )
    return jsonify(_received(received))


@endpoint(
    api,
    "/webhooks/dropbox-sign",
    "POST",
    summary="Dropbox Sign callbacks (all signed), checked with the firm's API key",
    tag=TAG,
    auth=False,
)
def dropbox_sign_webhook() -> ResponseReturnValue:
    """Dropbox Sign posts the event as the form field `json` and calls again until it is
    answered with its exact acknowledgement text."""
    form_json = request.form.get("json") if request.mimetype in FORM_TYPES else None
    provider_service.dropbox_sign_event(form_json, request.get_data())
    return Response(dropbox_sign.CALLBACK_ANSWER, mimetype="text/plain")


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
