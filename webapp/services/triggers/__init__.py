"""Triggers: workflows that start themselves. The door is `perform(actor, trigger_id,
command)` with Create, Update, Delete and RotateSecret, admins only, each audited in the
same transaction. The firing core (firing.py), webhooks (hooks.py), schedules
(schedule.py) and the event runner (runner.py) sit beside it."""

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from webapp.engine import permissions
from webapp.engine.errors import Conflict, Invalid, NotAllowed, NotFound, Unprocessable
from webapp.engine.expressions import check_expression
from webapp.engine.schedules import check_schedule
from webapp.engine.templating import check_template, template_strings
from webapp.extensions import db
from webapp.models import Matter, Trigger, TriggerFiring, User, WorkflowTemplate
from webapp.models.triggers import TriggerKind
from webapp.observability import traced
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import transactional
from webapp.services.access import actor_of
from webapp.services.clock import now
from webapp.services.events import EVENT_TYPES, forget_listeners
from webapp.services.triggers.schedule import FIRE_ONCE, SKIP, next_fire_at

MISSED = (SKIP, FIRE_ONCE)
# What each kind may take as its matter rule, and the rule it gets when none is given.
MATTER_RULES = {
    TriggerKind.MANUAL: ("id", "fromPayload"),
    TriggerKind.WEBHOOK: ("id", "fromPayload", "create"),
    TriggerKind.SCHEDULE: ("id", "filter"),
    TriggerKind.EVENT: ("fromPayload", "id"),
}
DEFAULT_RULE: dict[str, dict[str, Any]] = {
    TriggerKind.MANUAL: {"fromPayload": True},
    TriggerKind.WEBHOOK: {"fromPayload": True},
    TriggerKind.EVENT: {"fromPayload": True},
}


@dataclass(frozen=True)
class Definition:
    """Everything a trigger is, as an admin states it (snake_case)."""

    name: str
    kind: str
    template_key: str
    template_version: int | None = None
    enabled: bool = True
    condition: str | None = None
    matter: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None
    event: dict[str, Any] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Create:
    definition: Definition


@dataclass(frozen=True)
class Update:
    """Any subset of the definition's fields (the kind stays)."""

    changes: dict[str, Any]


@dataclass(frozen=True)
class Delete:
    pass


@dataclass(frozen=True)
class RotateSecret:
    pass


TriggerCommand = Create | Update | Delete | RotateSecret


@dataclass(frozen=True)
class TriggerChanged:
    trigger: Trigger | None
    secret: str | None = None  # a webhook trigger's new secret: shown this once
    deleted_id: int | None = None


def require_manager(user: User) -> None:
    if not permissions.may_manage_triggers(actor_of(user)):
        raise NotAllowed("Only admins can see and change triggers.")


@traced("trigger perform")
@transactional
def perform(actor: User, trigger_id: int | None, command: TriggerCommand) -> TriggerChanged:
    require_manager(actor)
    if isinstance(command, Create):
        return _create(actor, command.definition)
    trigger = _load(actor, trigger_id, for_update=True)
    match command:
        case Update(changes=changes):
            return _update(actor, trigger, changes)
        case Delete():
            return _delete(actor, trigger)
        case RotateSecret():
            return _rotate(actor, trigger)
    raise Invalid("Unknown change of a trigger.")


def _load(actor: User, trigger_id: int | None, for_update: bool = False) -> Trigger:
    query = select(Trigger).where(Trigger.id == trigger_id, Trigger.org_id == actor.org_id)
    if for_update:
        query = query.with_for_update()
    trigger = db.session.scalar(query) if trigger_id is not None else None
    if trigger is None:
        raise NotFound(f"Trigger {trigger_id} was not found.")
    return trigger


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def _create(actor: User, definition: Definition) -> TriggerChanged:
    values = _checked(actor, definition)
    trigger = Trigger(org_id=actor.org_id, created_by_id=actor.id, **values)
    secret = new_secret() if trigger.kind == TriggerKind.WEBHOOK else None
    trigger.secret = secret
    trigger.next_fire_at = next_fire_at(trigger, now()) if trigger.enabled else None
    db.session.add(trigger)
    db.session.flush()
    _audit(actor, trigger, "trigger.created", {"name": trigger.name, "kind": trigger.kind})
    forget_listeners()
    return TriggerChanged(trigger, secret)


FIELDS = (
    "name",
    "template_key",
    "template_version",
    "enabled",
    "condition",
    "matter",
    "schedule",
    "event",
    "parameters",
)


def _update(actor: User, trigger: Trigger, changes: dict[str, Any]) -> TriggerChanged:
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise Invalid(f"A trigger has no field {unknown[0]!r} to change.")
    current = definition_of(trigger)
    merged = Definition(**{**current.__dict__, **changes})
    values = _checked(actor, merged)
    was_enabled = trigger.enabled
    for name, value in values.items():
        setattr(trigger, name, value)
    # Saving a trigger takes it over: its firings act as the admin who saved it last.
    trigger.created_by_id = actor.id
    if trigger.enabled and (not was_enabled or {"schedule", "enabled"} & set(changes)):
        # A disabled spell is not a missed time: the schedule counts from now.
        trigger.next_fire_at = next_fire_at(trigger, now())
    elif not trigger.enabled:
        trigger.next_fire_at = None
    shown = {key: value for key, value in changes.items() if key != "parameters"}
    _audit(actor, trigger, "trigger.updated", {"changes": shown})
    forget_listeners()
    return TriggerChanged(trigger)


def _delete(actor: User, trigger: Trigger) -> TriggerChanged:
    _audit(actor, trigger, "trigger.deleted", {"name": trigger.name, "kind": trigger.kind})
    gone = trigger.id
    db.session.delete(trigger)
    forget_listeners()
    return TriggerChanged(None, deleted_id=gone)


def _rotate(actor: User, trigger: Trigger) -> TriggerChanged:
    if trigger.kind != TriggerKind.WEBHOOK:
        raise Conflict(
            f"Only a webhook trigger has a secret; this one is a {trigger.kind} trigger."
        )
    secret = new_secret()
    trigger.secret = secret
    _audit(actor, trigger, "trigger.secret_rotated", {"name": trigger.name})
    return TriggerChanged(trigger, secret)


def _audit(actor: User, trigger: Trigger, event_type: str, payload: dict[str, Any]) -> None:
    record_event(
        org_id=actor.org_id,
        event_type=event_type,
        actor_id=actor.id,
        payload={"triggerId": trigger.id, **payload},
    )


def definition_of(trigger: Trigger) -> Definition:
    return Definition(
        name=trigger.name,
        kind=trigger.kind,
        template_key=trigger.template_key,
        template_version=trigger.template_version,
        enabled=trigger.enabled,
        condition=trigger.condition,
        matter=trigger.matter_rule or None,
        schedule=trigger.schedule,
        event={"type": trigger.event_type} if trigger.event_type else None,
        parameters=trigger.parameters or {},
    )


# ---- checking a definition ----------------------------------------------------------------


def _problem(field_name: str, message: str) -> Unprocessable:
    return Unprocessable(message, [{"field": field_name, "message": message}])


def _checked(actor: User, definition: Definition) -> dict[str, Any]:
    """The row's values of a valid definition; Unprocessable naming the field otherwise."""
    try:
        kind = TriggerKind(definition.kind)
    except ValueError:
        kinds = ", ".join(k.value for k in TriggerKind)
        raise _problem("kind", f"A trigger's kind is one of {kinds}.") from None
    name = (definition.name or "").strip()
    if not name or "\n" in name:
        raise _problem("name", "A trigger needs a name on one line.")
    _check_template(actor, definition.template_key, definition.template_version)
    if definition.condition:
        why = check_expression(definition.condition)
        if why:
            raise _problem("condition", f"The condition is not valid: {why}.")
    for path, source in template_strings(definition.parameters or {}, "parameters"):
        why = check_template(source)
        if why:
            raise _problem(path, f"A parameter's template is not valid: {why}.")
    return {
        "name": name,
        "kind": kind.value,
        "template_key": definition.template_key,
        "template_version": definition.template_version,
        "enabled": definition.enabled,
        "condition": (definition.condition or "").strip() or None,
        "matter_rule": _matter_rule(actor, kind, definition.matter),
        "schedule": _schedule(kind, definition.schedule),
        "event_type": _event_type(kind, definition.event),
        "parameters": definition.parameters or {},
    }


def _check_template(actor: User, key: str, version: int | None) -> None:
    query = select(func.count()).where(
        WorkflowTemplate.org_id == actor.org_id, WorkflowTemplate.key == key
    )
    if version is not None:
        query = query.where(WorkflowTemplate.version == version)
    if not db.session.scalar(query):
        which = f"{key!r} version {version}" if version is not None else repr(key)
        raise _problem("templateKey", f"There is no template {which} in your firm.")


def _matter_rule(actor: User, kind: TriggerKind, rule: dict[str, Any] | None) -> dict[str, Any]:
    if not rule:
        if kind not in DEFAULT_RULE:
            raise _problem("matter", 'A schedule needs a matter: {"id": n} or {"filter": "…"}.')
        return DEFAULT_RULE[kind]
    allowed = MATTER_RULES[kind]
    given = [name for name in ("id", "fromPayload", "create", "filter") if name in rule]
    if len(given) != 1 or given[0] not in allowed:
        shapes = " or ".join(f'{{"{name}"…}}' for name in allowed)
        raise _problem("matter", f"A {kind.value} trigger's matter is {shapes}.")
    if "id" in rule:
        matter = db.session.get(Matter, rule["id"]) if isinstance(rule["id"], int) else None
        if matter is None or matter.org_id != actor.org_id:
            raise _problem("matter.id", f"Matter {rule['id']} was not found.")
        return {"id": matter.id}
    if "filter" in rule:
        why = check_expression(rule["filter"]) if isinstance(rule["filter"], str) else "not text"
        if why:
            raise _problem("matter.filter", f"The matter filter is not valid: {why}.")
        return {"filter": rule["filter"]}
    if "create" in rule:
        owner = rule.get("ownerId")
        if rule["create"] is not True or (owner is not None and not isinstance(owner, int)):
            raise _problem("matter", 'Write {"create": true} (and "ownerId": n if you like).')
        return {"create": True, **({"ownerId": owner} if owner is not None else {})}
    if rule["fromPayload"] is not True:
        raise _problem("matter", 'Write {"fromPayload": true}.')
    return {"fromPayload": True}


def _schedule(kind: TriggerKind, schedule: dict[str, Any] | None) -> dict[str, Any] | None:
    if kind != TriggerKind.SCHEDULE:
        if schedule:
            raise _problem("schedule", "Only a schedule trigger has a schedule.")
        return None
    if not schedule:
        raise _problem("schedule", "A schedule trigger needs a schedule: {cron, timezone}.")
    cron = str(schedule.get("cron") or "").strip()
    timezone = str(schedule.get("timezone") or "UTC").strip()
    why = check_schedule(cron, timezone)
    if why:
        raise _problem("schedule", f"The schedule is not valid: {why}.")
    missed = schedule.get("missed", SKIP)
    if missed not in MISSED:
        raise _problem("schedule.missed", "missed is skip or fire_once.")
    return {"cron": cron, "timezone": timezone, "missed": missed}


def _event_type(kind: TriggerKind, event: dict[str, Any] | None) -> str | None:
    if kind != TriggerKind.EVENT:
        if event:
            raise _problem("event", "Only an event trigger waits for an event.")
        return None
    event_type = (event or {}).get("type")
    if event_type not in EVENT_TYPES:
        raise _problem("event.type", f"An event trigger waits for one of {', '.join(EVENT_TYPES)}.")
    return str(event_type)


# ---- reads ----------------------------------------------------------------------------------


def list_triggers(actor: User, limit: int = 50, offset: int = 0) -> tuple[list[Trigger], int]:
    require_manager(actor)
    query = select(Trigger).where(Trigger.org_id == actor.org_id)
    total = db.session.scalar(query.with_only_columns(func.count(), maintain_column_froms=True))
    rows = db.session.scalars(query.order_by(Trigger.id).limit(limit).offset(offset)).all()
    return list(rows), total or 0


def get_trigger(actor: User, trigger_id: int) -> Trigger:
    require_manager(actor)
    return _load(actor, trigger_id)


def list_firings(
    actor: User, trigger_id: int, limit: int = 50, offset: int = 0
) -> tuple[list[TriggerFiring], int]:
    """Newest first."""
    trigger = get_trigger(actor, trigger_id)
    query = select(TriggerFiring).where(TriggerFiring.trigger_id == trigger.id)
    total = db.session.scalar(query.with_only_columns(func.count(), maintain_column_froms=True))
    rows = db.session.scalars(
        query.order_by(TriggerFiring.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total or 0


def latest_firings(
    actor: User, trigger_ids: list[int], per_trigger: int = 5
) -> dict[int, list[TriggerFiring]]:
    """The last few firings of each trigger, for the admin page, in one query."""
    require_manager(actor)
    if not trigger_ids:
        return {}
    ranked = (
        select(
            TriggerFiring.id,
            func.row_number()
            .over(partition_by=TriggerFiring.trigger_id, order_by=TriggerFiring.id.desc())
            .label("rank"),
        )
        .where(TriggerFiring.trigger_id.in_(trigger_ids))
        .subquery()
    )
    rows = db.session.scalars(
        select(TriggerFiring)
        .join(ranked, ranked.c.id == TriggerFiring.id)
        .where(ranked.c.rank <= per_trigger)
        .order_by(TriggerFiring.trigger_id, TriggerFiring.id.desc())
    ).all()
    found: dict[int, list[TriggerFiring]] = {trigger_id: [] for trigger_id in trigger_ids}
    for row in rows:
        found[row.trigger_id].append(row)
    return found
