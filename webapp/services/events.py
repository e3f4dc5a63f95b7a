"""What happened in the firm, for event triggers: an event is an outbox job written in the
transaction that caused it, so a change that rolls back leaves no event, and the worker
fires the triggers after the commit (services/triggers/runner.py).

The step door is a hot path: an event is written only when some enabled trigger of the
firm waits for its type. Which types a firm's triggers wait for is read once and kept per
process for EVENT_TYPES_TTL seconds (a trigger saved in this process forgets it at once),
so a step completion costs no statement at all when nothing listens, and one row when
something does. A trigger saved in another process is heard within the TTL."""

import threading
import time
import uuid
from typing import Any

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Trigger, WorkflowInstance
from webapp.persistence.journal import enqueue

EVENT_JOB = "trigger.event"
EVENT_TYPES = (
    "matter.created",
    "matter.status_changed",
    "instance.completed",
    "instance.failed",
    "step.completed",
    "document.uploaded",
)
EVENT_TYPES_TTL = 5.0

_lock = threading.Lock()
_listened: dict[tuple[str, int], tuple[float, frozenset[str]]] = {}


def forget_listeners() -> None:
    """A trigger changed: read again which events each firm listens to."""
    with _lock:
        _listened.clear()


def listened_types(org_id: int) -> frozenset[str]:
    key = (str(db.engine.url), org_id)
    now = time.monotonic()
    with _lock:
        cached = _listened.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    types = frozenset(
        event_type
        for event_type in db.session.scalars(
            select(Trigger.event_type)
            .where(Trigger.org_id == org_id, Trigger.kind == "event", Trigger.enabled)
            .distinct()
        )
        if event_type
    )
    ttl = current_app.config.get("EVENT_TYPES_TTL", EVENT_TYPES_TTL)
    with _lock:
        _listened[key] = (now + ttl, types)
    return types


def chain_depth(instance: WorkflowInstance) -> int:
    """How many events led to this workflow: one started by an event of depth d sends
    events of depth d + 1, so a workflow whose completion starts itself stops."""
    if instance.trigger_type != "event":
        return 0
    depth = (instance.trigger_data or {}).get("depth", 0)
    return (depth if isinstance(depth, int) else 0) + 1


def emit(
    org_id: int,
    event_type: str,
    matter_id: int | None,
    data: dict[str, Any],
    depth: int = 0,
) -> None:
    """Write the event to the outbox, in the caller's transaction, if a trigger listens."""
    if event_type not in listened_types(org_id):
        return
    enqueue(
        EVENT_JOB,
        {"type": event_type, "matterId": matter_id, "depth": depth, **data},
        org_id=org_id,
        dedupe_key=f"event:{uuid.uuid4().hex}",
    )


def emit_for_instance(
    instance: WorkflowInstance, event_type: str, data: dict[str, Any] | None = None
) -> None:
    emit(
        instance.org_id,
        event_type,
        instance.matter_id,
        {"instanceId": instance.id, **(data or {})},
        chain_depth(instance),
    )
