"""Triggers start workflows by themselves (a signed webhook, a schedule, an event in the
firm); each time one fires it leaves a TriggerFiring, unique per trigger and key, so a
delivery, a fire time or an event starts at most one workflow however often it arrives."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import (
    JsonDict,
    JSONType,
    Model,
    UTCDateTime,
    created_at_column,
    updated_at_column,
)


class TriggerKind(StrEnum):
    MANUAL = "manual"
    WEBHOOK = "webhook"
    SCHEDULE = "schedule"
    EVENT = "event"


class FiringOutcome(StrEnum):
    STARTED = "started"
    FILTERED = "filtered"  # the activation condition said no
    FAILED = "failed"  # the reason says why, in plain words
    DUPLICATE = "duplicate"  # only ever answered, never stored: the first firing is


class Trigger(Model):
    __tablename__ = "triggers"
    __table_args__ = (
        Index("ix_triggers_org_id_id", "org_id", "id"),
        # The scheduler tick reads the due schedules and nothing else.
        Index("ix_triggers_kind_enabled_next", "kind", "enabled", "next_fire_at"),
        # Whether any enabled trigger of a firm waits for an event of a type.
        Index("ix_triggers_org_event", "org_id", "event_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    template_key: Mapped[str] = mapped_column(String(100))
    template_version: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    condition: Mapped[str | None] = mapped_column(Text)
    # {"id": n} | {"fromPayload": true} | {"create": true, "ownerId"?} | {"filter": "CEL"}
    matter_rule: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    # {"cron", "timezone", "missed": "skip" | "fire_once"}
    schedule: Mapped[JsonDict | None] = mapped_column(JSONType)
    event_type: Mapped[str | None] = mapped_column(String(60))
    parameters: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    # Kept as given, not hashed: verifying an HMAC needs the key itself (docs/triggers.md).
    secret: Mapped[str | None] = mapped_column(String(100))
    next_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The firings act as this admin: the audit trail names who set the trigger up.
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class TriggerFiring(Model):
    __tablename__ = "trigger_firings"
    __table_args__ = (
        UniqueConstraint("trigger_id", "dedupe_key", name="uq_trigger_firings_trigger_key"),
        Index("ix_trigger_firings_trigger_id_id", "trigger_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(Integer)
    trigger_id: Mapped[int] = mapped_column(ForeignKey("triggers.id", ondelete="CASCADE"))
    # The delivery id, the fire time or the event: what makes this firing happen once.
    dedupe_key: Mapped[str] = mapped_column(String(200))
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    matter_id: Mapped[int | None] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = created_at_column()
