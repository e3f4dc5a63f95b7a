"""Stripe for client payments (issue 16, points 2 and 5), against a local stand-in of its
API: the Pay button opens one Checkout Session for the step's amount in minor units, with
the step's idempotency key; Stripe's signed event completes the step through the door;
a bad signature, another currency or a lost commit change nothing or create nothing twice."""

from http import HTTPStatus

import pytest
from sqlalchemy import event, func, select

from tests.integration.provider_support import (
    ClientFirm,
    event_count,
    fresh_step,
    payment_step,
    stripe_event,
    stripe_headers,
)
from webapp.extensions import db
from webapp.models import ResourceLink, SecurityEvent, SecurityEventKind, WorkflowEvent
from webapp.services import resource_links, steps


def _pay(firm: ClientFirm, login_as, step_id: int):
    return login_as(firm.client).post(f"/steps/{step_id}/provider", htmx=True)


def test_paying_with_stripe_opens_one_checkout_session_for_the_amount_in_minor_units(
    stripe_firm, stripe_api, login_as
) -> None:
    step_id = payment_step(stripe_firm, "1500.00", "USD")
    opened = _pay(stripe_firm, login_as, step_id)
    assert opened.status_code == HTTPStatus.OK, opened.get_data(as_text=True)
    [created] = stripe_api.creates()
    session = next(iter(stripe_api.sessions.values()))
    assert opened.headers["HX-Redirect"] == session["url"]
    form = {k: v[0] for k, v in created.form.items()}
    assert form["line_items[0][price_data][unit_amount]"] == "150000"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["client_reference_id"] == str(step_id)
    assert form["metadata[stepId]"] == str(step_id)
    assert form["metadata[orgId]"] == str(stripe_firm.org.id)
    assert form["success_url"].startswith("http") and "/workflows/" in form["success_url"]
    assert created.headers["Idempotency-Key"] == resource_links.idempotency_key(
        step_id, 0, "checkout"
    )
    step = fresh_step(step_id)
    assert step.action_state == "IN_PROGRESS" and step.external_ref == session["id"]
    assert step.action_data["provider"] == "stripe"
    link = db.session.scalar(select(ResourceLink))
    assert (link.provider, link.external_id, link.step_id) == ("stripe", session["id"], step_id)
    assert link.idempotency_key == created.headers["Idempotency-Key"]


def test_zero_decimal_currency_is_sent_in_whole_units_when_the_step_asks_for_yen(
    stripe_firm, stripe_api, login_as
) -> None:
    _pay(stripe_firm, login_as, payment_step(stripe_firm, "1500", "JPY"))
    form = {k: v[0] for k, v in stripe_api.creates()[0].form.items()}
    assert form["line_items[0][price_data][unit_amount]"] == "1500"
    assert form["line_items[0][price_data][currency]"] == "jpy"


def test_a_stripe_event_with_a_bad_signature_is_refused_and_changes_nothing(
    stripe_firm, stripe_api, login_as, provider
) -> None:
    step_id = payment_step(stripe_firm)
    _pay(stripe_firm, login_as, step_id)
    body = stripe_event(next(iter(stripe_api.sessions.values())))
    before = event_count()
    refused = provider.post(
        "/api/v1/webhooks/stripe", data=body, headers=stripe_headers(body, "whsec_wrong")
    )
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.json["error"]["code"] == "unauthorized"
    assert fresh_step(step_id).action_state == "IN_PROGRESS"
    assert event_count() == before
    security = db.session.scalar(
        select(SecurityEvent).where(SecurityEvent.kind == SecurityEventKind.ACCESS_REFUSED)
    )
    assert security.org_id == stripe_firm.org.id
    assert security.detail["reason"] == "stripe webhook signature refused"


def test_a_signed_checkout_completed_event_completes_the_step_through_the_door(
    stripe_firm, stripe_api, login_as, provider
) -> None:
    step_id = payment_step(stripe_firm)
    _pay(stripe_firm, login_as, step_id)
    body = stripe_event(next(iter(stripe_api.sessions.values())))
    received = provider.post("/api/v1/webhooks/stripe", data=body, headers=stripe_headers(body))
    assert received.status_code == HTTPStatus.OK, received.json
    assert received.json["status"] == "Completed"
    step = fresh_step(step_id)
    assert step.action_state == "COMPLETED"
    assert step.action_data["paid"] is True and step.action_data["currency"] == "USD"
    completed = db.session.scalar(
        select(WorkflowEvent).where(
            WorkflowEvent.step_id == step_id, WorkflowEvent.event_type == "step.complete"
        )
    )
    assert completed.actor_id == stripe_firm.client.id
    again = provider.post("/api/v1/webhooks/stripe", data=body, headers=stripe_headers(body))
    assert again.status_code == HTTPStatus.OK  # Stripe's retried delivery changes nothing
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(WorkflowEvent)
            .where(WorkflowEvent.event_type == "step.complete")
        )
        == 1
    )


def test_a_signed_stripe_event_in_another_currency_is_refused_and_changes_nothing(
    stripe_firm, stripe_api, login_as, provider
) -> None:
    step_id = payment_step(stripe_firm, "1500.00", "USD")
    _pay(stripe_firm, login_as, step_id)
    session = next(iter(stripe_api.sessions.values()))
    body = stripe_event({**session, "currency": "jpy", "amount_total": 1500})
    before = event_count()
    refused = provider.post("/api/v1/webhooks/stripe", data=body, headers=stripe_headers(body))
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "currency" in refused.json["error"]["message"]
    assert fresh_step(step_id).action_state == "IN_PROGRESS"
    assert event_count() == before


def test_an_unpaid_or_unrelated_stripe_event_is_acknowledged_and_changes_nothing(
    stripe_firm, stripe_api, login_as, provider
) -> None:
    step_id = payment_step(stripe_firm)
    _pay(stripe_firm, login_as, step_id)
    session = next(iter(stripe_api.sessions.values()))
    body = stripe_event(session, kind="checkout.session.expired")
    answer = provider.post("/api/v1/webhooks/stripe", data=body, headers=stripe_headers(body))
    assert answer.status_code == HTTPStatus.OK and "ignored" in answer.json
    stranger = stripe_event({**session, "id": "cs_test_not_ours"})
    answer = provider.post(
        "/api/v1/webhooks/stripe", data=stranger, headers=stripe_headers(stranger)
    )
    assert answer.status_code == HTTPStatus.OK and "ignored" in answer.json
    assert fresh_step(step_id).action_state == "IN_PROGRESS"


def test_a_request_lost_after_the_stripe_call_then_retried_creates_no_second_session(
    stripe_firm, stripe_api, login_as
) -> None:
    """The request dies after Stripe answered and before its commit (the link's INSERT
    fails): nothing of it is kept. Pressing Pay again sends the same idempotency key, and
    Stripe answers with the first session."""
    step_id = payment_step(stripe_firm)

    def die_on_link(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO RESOURCE_LINKS"):
            raise RuntimeError("the server died before its commit")

    event.listen(db.engine, "before_cursor_execute", die_on_link)
    try:
        lost = _pay(stripe_firm, login_as, step_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", die_on_link)
    assert lost.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert len(stripe_api.creates()) == 1  # Stripe made the session before the loss
    db.session.rollback()
    assert fresh_step(step_id).action_state == "READY"
    assert db.session.scalar(select(func.count()).select_from(ResourceLink)) == 0
    retried = _pay(stripe_firm, login_as, step_id)
    assert retried.status_code == HTTPStatus.OK
    keys = {r.headers["Idempotency-Key"] for r in stripe_api.creates()}
    assert len(stripe_api.creates()) == 2 and len(keys) == 1
    assert len(stripe_api.sessions) == 1
    assert fresh_step(step_id).external_ref == next(iter(stripe_api.sessions))


def test_a_recorded_checkout_session_is_reused_without_calling_stripe_again(
    stripe_firm, stripe_api
) -> None:
    """The link lookup short-circuits: a session this attempt already recorded is the
    one the step opens, and Stripe is not asked at all."""
    step_id = payment_step(stripe_firm)
    resource_links.record(
        org_id=stripe_firm.org.id,
        step_id=step_id,
        provider="stripe",
        kind="checkout_session",
        external_id="cs_test_recorded",
        key=resource_links.idempotency_key(step_id, 0, "checkout"),
        url="https://checkout.test/cs_test_recorded",
    )
    db.session.commit()
    with stripe_firm_request_context():
        steps.perform(stripe_firm.client, step_id, steps.Start())
    assert stripe_api.creates() == []
    step = fresh_step(step_id)
    assert step.external_ref == "cs_test_recorded"
    assert step.action_data["url"] == "https://checkout.test/cs_test_recorded"


def stripe_firm_request_context():
    from flask import current_app

    return current_app.test_request_context("/")


def test_a_dropped_connection_after_the_stripe_call_is_retried_with_the_same_key(
    stripe_firm, stripe_api, login_as, dialect
) -> None:
    """PostgreSQL really drops the connection as the link is written, after Stripe made
    the session: the door runs again, Stripe answers the same key with the same session,
    and one link and one session exist."""
    if dialect != "postgresql":
        pytest.skip("a connection the database drops is PostgreSQL's case")
    from tests.integration.test_database_faults import dropped_connections

    step_id = payment_step(stripe_firm)
    with dropped_connections("INSERT INTO resource_links", times=1) as ended:
        paid = _pay(stripe_firm, login_as, step_id)
    assert ended and paid.status_code == HTTPStatus.OK
    assert len(stripe_api.creates()) == 2 and len(stripe_api.sessions) == 1
    assert db.session.scalar(select(func.count()).select_from(ResourceLink)) == 1
    assert fresh_step(step_id).action_state == "IN_PROGRESS"
