"""/admin/triggers: the firm's triggers, the last firings of each, and what the create
form offers (template keys, open matters, event types), in a bounded number of queries."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Matter, Trigger, TriggerFiring, User, WorkflowTemplate
from webapp.services import triggers
from webapp.services.events import EVENT_TYPES

MATTER_CHOICES = 200  # a fixed matter is picked from the newest open ones
FIRINGS_SHOWN = 5


@dataclass
class TriggersPage:
    triggers: list[Trigger]
    firings: dict[int, list[TriggerFiring]]
    template_keys: list[tuple[str, str]]  # (key, name)
    matters: list[tuple[int, str]]  # (id, "REF — title")
    event_types: tuple[str, ...] = EVENT_TYPES
    form: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    revealed: dict[str, Any] | None = None  # a new secret, shown once
    confirming: str | None = None  # "rotate-<id>" / "delete-<id>" without script


def triggers_page(user: User) -> TriggersPage:
    rows, _total = triggers.list_triggers(user, limit=200)
    firings = triggers.latest_firings(user, [row.id for row in rows], FIRINGS_SHOWN)
    keys = db.session.execute(
        select(WorkflowTemplate.key, WorkflowTemplate.name)
        .where(WorkflowTemplate.org_id == user.org_id)
        .order_by(WorkflowTemplate.key, WorkflowTemplate.version.desc())
    ).all()
    newest_name: dict[str, str] = {}
    for key, name in keys:
        newest_name.setdefault(key, name)
    matters = db.session.execute(
        select(Matter.id, Matter.reference, Matter.title)
        .where(Matter.org_id == user.org_id, Matter.status == "OPEN")
        .order_by(Matter.id.desc())
        .limit(MATTER_CHOICES)
    ).all()
    return TriggersPage(
        triggers=rows,
        firings=firings,
        template_keys=sorted(newest_name.items()),
        matters=[(m.id, f"{m.reference} — {m.title}") for m in matters],
    )
