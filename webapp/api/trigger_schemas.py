"""Request and response bodies of triggers and hooks (camelCase on the wire)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from webapp.api.schemas import Omitted, Patch, RowId, Schema
from webapp.engine.definition import TEMPLATE_KEY_PATTERN

Kind = Literal["manual", "webhook", "schedule", "event"]
EventType = Literal[
    "matter.created",
    "matter.status_changed",
    "instance.completed",
    "instance.failed",
    "step.completed",
    "document.uploaded",
]
Outcome = Literal["started", "filtered", "failed"]


class MatterRule(Schema):
    """Exactly one of: `id` (a fixed matter), `fromPayload: true` (the webhook body's
    matterId or matterReference; an event's matter), `create: true` (open the matter the
    body's `matter: {reference, title, ownerId?}` describes), `filter` (a schedule: one
    workflow per open matter this CEL condition over `matter` selects)."""

    id: RowId | None = None
    from_payload: Literal[True] | None = None
    create: Literal[True] | None = None
    owner_id: RowId | None = Field(None, description="with create: the lawyer who owns it")
    filter: str | None = Field(None, max_length=2000)


class ScheduleIn(Schema):
    cron: str = Field(max_length=100, description="five fields: minute hour day month weekday")
    timezone: str = Field("UTC", max_length=64, description="an IANA zone, e.g. Europe/London")
    missed: Literal["skip", "fire_once"] = Field(
        "skip",
        description="what a worker that was down does with the times it missed: skip them, "
        "or fire the latest once",
    )


class EventIn(Schema):
    type: EventType


class TriggerIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    template_key: str = Field(pattern=TEMPLATE_KEY_PATTERN)
    template_version: RowId | None = Field(
        None, description="pin a version; by default the latest published one starts"
    )
    enabled: bool = True
    condition: str | None = Field(
        None,
        max_length=2000,
        description="CEL over trigger.data and matter; a firing it refuses is `filtered`",
    )
    matter: MatterRule | None = None
    schedule: ScheduleIn | None = None
    event: EventIn | None = None
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="the workflow's parameters; string values are templates over "
        "trigger.data and matter",
    )


class TriggerPatch(Patch):
    name: str | Omitted = Field(None, min_length=1, max_length=200)
    template_key: str | Omitted = Field(None, pattern=TEMPLATE_KEY_PATTERN)
    template_version: RowId | None = None
    enabled: bool | Omitted = None
    condition: str | None = Field(None, max_length=2000)
    matter: MatterRule | Omitted = None
    schedule: ScheduleIn | Omitted = None
    event: EventIn | Omitted = None
    parameters: dict[str, Any] | Omitted = None


class TriggerOut(Schema):
    id: int
    name: str
    kind: str
    template_key: str
    template_version: int | None
    enabled: bool
    condition: str | None
    matter: dict[str, Any]
    schedule: dict[str, Any] | None
    event: dict[str, Any] | None
    parameters: dict[str, Any]
    next_fire_at: datetime | None = Field(description="a schedule's next due time (UTC)")
    hook_url: str | None = Field(description="where a webhook trigger is called")
    secret: str | None = Field(
        None,
        description="a webhook trigger's signing secret: in the answer that creates or "
        "rotates it, and never again",
    )
    created_by_id: int = Field(description="the admin its firings act as")
    created_at: datetime
    updated_at: datetime


class TriggerList(Schema):
    items: list[TriggerOut]
    total: int


class TriggerDeleted(Schema):
    id: int


class FiringOut(Schema):
    id: int
    trigger_id: int
    dedupe_key: str = Field(description="the delivery, fire time or event it fired for")
    fired_at: datetime
    outcome: Outcome
    reason: str | None = Field(description="why it started nothing, in plain words")
    matter_id: int | None
    instance_id: int | None
    data: dict[str, Any]
    created_at: datetime


class FiringList(Schema):
    items: list[FiringOut]
    total: int


class HookAccepted(Schema):
    firing_id: int
    instance_id: int | None
    outcome: Outcome
    reason: str | None
