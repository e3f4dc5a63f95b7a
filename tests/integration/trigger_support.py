"""Helpers of the trigger tests: a firm with an admin, a published template, signed
hook requests and an injected clock."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.engine_support import publish, step
from webapp.engine.roles import Role
from webapp.services.events import forget_listeners
from webapp.services.triggers.hooks import DELIVERY_HEADER, SIGNATURE_HEADER, signature


@dataclass
class Clock:
    """The app's CLOCK: time moves only when a test says so."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock(app: Any) -> Iterator[Clock]:
    fake = Clock(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    app.config["CLOCK"] = fake
    forget_listeners()
    yield fake
    app.config.pop("CLOCK", None)
    forget_listeners()  # the next test's firm may reuse this one's ids


@dataclass
class TriggerFirm:
    admin: Any
    lawyer: Any
    matter: Any
    api: Any  # the admin's
    lawyer_api: Any
    template_id: int


@pytest.fixture
def tfirm(
    make_org: Any, make_user: Any, make_matter: Any, api_as: Any, clock: Clock
) -> TriggerFirm:
    org = make_org("Trigger Firm")
    admin = make_user(org, Role.ADMIN)
    lawyer = make_user(org, Role.LAWYER)
    matter = make_matter(lawyer, reference="INT-001")
    api = api_as(admin)
    template_id = publish(
        api,
        "Intake",
        [
            step("welcome", title="Welcome {{ trigger.data.client | default('client') }}"),
            step("urgent", condition='trigger.data.priority == "high"'),
        ],
        key="intake",
    )
    return TriggerFirm(admin, lawyer, matter, api, api_as(lawyer), template_id)


def webhook_trigger(tfirm: TriggerFirm, **fields: Any) -> dict[str, Any]:
    body = {"name": "New intake", "kind": "webhook", "templateKey": "intake", **fields}
    created = tfirm.api.post("/triggers", json=body)
    assert created.status_code == 201, created.json
    return created.json


def signed_post(
    client: Any,
    trigger: dict[str, Any],
    payload: Any,
    delivery: str = "d-1",
    at: datetime | None = None,
    secret: str | None = None,
    raw: bytes | None = None,
) -> Any:
    body = raw if raw is not None else json.dumps(payload).encode()
    timestamp = int((at or datetime.now(UTC)).timestamp())
    headers = {
        SIGNATURE_HEADER: signature(secret or trigger["secret"], body, timestamp),
        DELIVERY_HEADER: delivery,
        "Content-Type": "application/json",
    }
    return client.post(f"/api/v1/hooks/{trigger['id']}", data=body, headers=headers)
