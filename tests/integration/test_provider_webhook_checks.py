"""Webhooks that check what they are told (issue 16, point 6), on the sandbox's own signed
endpoints: an event is taken only on its own endpoint kind and provider, for the kind of
step it belongs to, and with the amount and currency the step asked for."""

import json
from http import HTTPStatus

import pytest

from tests.integration.provider_support import (
    ClientFirm,
    event_count,
    fresh_step,
    letter,
    payment_step,
    signature_step,
)
from webapp.adapters.providers import SIGNATURE_HEADER, sign
from webapp.services import steps


def _started_payment(firm: ClientFirm, login_as) -> int:
    step_id = payment_step(firm, "1500.00", "USD")
    login_as(firm.client).post(f"/steps/{step_id}/provider", htmx=True)
    assert fresh_step(step_id).action_state == "IN_PROGRESS"
    return step_id


def _signed_post(provider, path: str, payload: dict):
    body = json.dumps(payload).encode()
    return provider.post(
        path, data=body, headers={SIGNATURE_HEADER: sign(body), "Content-Type": "application/json"}
    )


def test_a_signed_esign_webhook_cannot_complete_a_usd_payment_step_with_jpy(
    client_firm, login_as, provider
) -> None:
    step_id = _started_payment(client_firm, login_as)
    intent = fresh_step(step_id).external_ref
    before = event_count()
    refused = _signed_post(
        provider,
        "/api/v1/webhooks/esign/sandbox",
        {
            "sessionId": intent,
            "actorId": client_firm.client.id,
            "event": "succeeded",
            "amount": "1500.00",
            "currency": "JPY",
        },
    )
    assert refused.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.UNPROCESSABLE_ENTITY)
    assert "error" in refused.json
    assert fresh_step(step_id).action_state == "IN_PROGRESS"
    assert event_count() == before


def test_a_payment_event_in_another_currency_is_refused_on_the_payment_endpoint(
    client_firm, login_as, provider
) -> None:
    step_id = _started_payment(client_firm, login_as)
    intent = fresh_step(step_id).external_ref
    before = event_count()
    refused = _signed_post(
        provider,
        "/api/v1/webhooks/payments/sandbox",
        {
            "intentId": intent,
            "actorId": client_firm.client.id,
            "event": "succeeded",
            "amount": "1500.00",
            "currency": "JPY",
        },
    )
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "currency" in refused.json["error"]["message"]
    assert fresh_step(step_id).action_state == "IN_PROGRESS"
    assert event_count() == before
    paid = _signed_post(
        provider,
        "/api/v1/webhooks/payments/sandbox",
        {
            "intentId": intent,
            "actorId": client_firm.client.id,
            "event": "succeeded",
            "amount": "1500.00",
            "currency": "USD",
        },
    )
    assert paid.status_code == HTTPStatus.OK, paid.json
    assert fresh_step(step_id).action_state == "COMPLETED"


def test_a_signature_event_on_a_payment_step_is_refused_and_changes_nothing(
    client_firm, login_as, provider
) -> None:
    step_id = _started_payment(client_firm, login_as)
    intent = fresh_step(step_id).external_ref
    before = event_count()
    refused = _signed_post(
        provider,
        "/api/v1/webhooks/esign/sandbox",
        {"sessionId": intent, "actorId": client_firm.client.id, "event": "signed"},
    )
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert "signature steps" in refused.json["error"]["message"]
    assert fresh_step(step_id).action_state == "IN_PROGRESS"
    assert event_count() == before


def test_a_payment_event_on_a_signature_step_is_refused_and_changes_nothing(
    client_firm, provider
) -> None:
    step_id = signature_step(client_firm, letter(client_firm).id)
    steps.perform(client_firm.client, step_id, steps.Start())
    session = fresh_step(step_id).external_ref
    before = event_count()
    refused = _signed_post(
        provider,
        "/api/v1/webhooks/payments/sandbox",
        {
            "intentId": session,
            "actorId": client_firm.client.id,
            "event": "succeeded",
            "amount": "1",
            "currency": "USD",
        },
    )
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert fresh_step(step_id).action_state == "IN_PROGRESS"
    assert event_count() == before


def test_the_sandbox_endpoint_refuses_to_speak_for_another_provider(
    client_firm, login_as, provider
) -> None:
    step_id = _started_payment(client_firm, login_as)
    refused = _signed_post(
        provider,
        "/api/v1/webhooks/payments/stripe",
        {
            "intentId": fresh_step(step_id).external_ref,
            "actorId": client_firm.client.id,
            "event": "succeeded",
            "amount": "1500.00",
            "currency": "USD",
        },
    )
    assert refused.status_code == HTTPStatus.NOT_FOUND
    assert fresh_step(step_id).action_state == "IN_PROGRESS"


def test_a_sandbox_event_cannot_complete_a_step_opened_with_stripe(client_firm, provider) -> None:
    """The step's provider is what it was opened with; the sandbox's signature (our own
    WEBHOOK_SECRET) is not Stripe's."""
    from webapp.extensions import db
    from webapp.models import InstanceStep

    step_id = payment_step(client_firm)
    step = db.session.get(InstanceStep, step_id)
    step.action_state = "IN_PROGRESS"
    step.external_ref = "cs_test_elsewhere"
    step.action_data = {"provider": "stripe", "intentId": "cs_test_elsewhere"}
    db.session.commit()
    refused = _signed_post(
        provider,
        "/api/v1/webhooks/payments/sandbox",
        {
            "intentId": "cs_test_elsewhere",
            "actorId": client_firm.client.id,
            "event": "succeeded",
            "amount": "1500.00",
            "currency": "USD",
        },
    )
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert "opened with stripe" in refused.json["error"]["message"]
    assert fresh_step(step_id).action_state == "IN_PROGRESS"


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [
        ("/api/v1/webhooks/stripe", b"", {}, HTTPStatus.UNAUTHORIZED),
        ("/api/v1/webhooks/stripe", b"[]", {"Stripe-Signature": "t=1,v1=x"}, 400),
        ("/api/v1/webhooks/stripe", b"\xff\xfe", {"Stripe-Signature": "t=1,v1=x"}, 400),
        (
            "/api/v1/webhooks/stripe",
            b'{"type": "checkout.session.completed", "data": {"object": {"id": 5}}}',
            {"Stripe-Signature": "t=1,v1=x"},
            HTTPStatus.OK,
        ),
        ("/api/v1/webhooks/dropbox-sign", b"", {}, HTTPStatus.UNAUTHORIZED),
        ("/api/v1/webhooks/dropbox-sign", b'{"event": 3}', {}, HTTPStatus.UNAUTHORIZED),
        (
            "/api/v1/webhooks/dropbox-sign",
            b'{"event": {"event_time": "1", "event_type": "callback_test", "event_hash": "x"}}',
            {},
            HTTPStatus.OK,
        ),
    ],
)
def test_malformed_provider_events_get_a_clear_answer_and_change_nothing(
    app, provider, path, body, headers, status
) -> None:
    before = event_count()
    answer = provider.post(path, data=body, headers={"Content-Type": "application/json", **headers})
    assert answer.status_code == status, answer.get_data(as_text=True)
    if status != HTTPStatus.OK:
        assert "error" in answer.json
    assert event_count() == before
