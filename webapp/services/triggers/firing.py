"""The firing core every kind of trigger shares. A firing is recorded once per trigger
and key (a delivery id, a fire time, an event): the same key again answers the first
firing and starts nothing. Otherwise the matter is found (or opened), the activation
condition is asked, and the workflow starts through the instance door, acting as the
admin who set the trigger up. Whatever happens is written on the firing, in plain words:
`started`, `filtered`, or `failed` with the reason."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select, text

from webapp.engine.errors import DomainError, NotFound
from webapp.engine.expressions import ExpressionError, evaluate_condition
from webapp.engine.roles import Role
from webapp.engine.templating import TemplatingError, render_value
from webapp.extensions import db
from webapp.models import Matter, Trigger, TriggerFiring, User
from webapp.models.triggers import FiringOutcome, TriggerKind
from webapp.observability import metrics
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import savepoint
from webapp.services import matters
from webapp.services.instances import StartedBy, instantiate
from webapp.services.templates import find_template

DEFAULT_EVENT_MAX_DEPTH = 3


@dataclass(frozen=True)
class Fired:
    firing: TriggerFiring
    created: bool  # False: the key had fired before, and `firing` is that first firing


@dataclass(frozen=True)
class Attempt:
    outcome: FiringOutcome
    reason: str | None = None
    matter_id: int | None = None
    instance_id: int | None = None


class Refused(Exception):
    """Why a firing starts nothing, in words for the admin page."""


def fire(
    trigger: Trigger,
    key: str,
    data: dict[str, Any],
    fired_at: datetime,
    matter_id: int | None = None,
) -> Fired:
    """Fire `trigger` once for `key`, in the caller's transaction. `matter_id`: the matter
    the firing is about when the trigger does not name one itself (an event's matter, a
    matter a schedule's filter selected)."""
    first = first_firing(trigger, key)
    if first is not None:
        return Fired(first, False)
    attempt = _attempt(trigger, data, matter_id)
    firing = TriggerFiring(
        org_id=trigger.org_id,
        trigger_id=trigger.id,
        dedupe_key=key,
        fired_at=fired_at,
        outcome=attempt.outcome,
        reason=attempt.reason,
        matter_id=attempt.matter_id,
        instance_id=attempt.instance_id,
        data=data,
    )
    db.session.add(firing)
    db.session.flush()
    record_event(
        org_id=trigger.org_id,
        event_type="trigger.fired",
        actor_id=None,
        matter_id=attempt.matter_id,
        instance_id=attempt.instance_id,
        payload={
            "triggerId": trigger.id,
            "firingId": firing.id,
            "kind": trigger.kind,
            "outcome": attempt.outcome.value,
            "reason": attempt.reason,
        },
    )
    metrics.trigger_fired(trigger.kind, attempt.outcome.value)
    return Fired(firing, True)


def first_firing(trigger: Trigger, key: str) -> TriggerFiring | None:
    if db.session.get_bind().dialect.name == "postgresql":
        # Concurrent deliveries of one key queue here, so the later ones see the first's
        # firing instead of losing a unique-key race. SQLite's writers are exclusive.
        lock = f"trigger-firing:{trigger.id}:{key}"
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": lock}
        )
    return db.session.scalar(
        select(TriggerFiring).where(
            TriggerFiring.trigger_id == trigger.id, TriggerFiring.dedupe_key == key
        )
    )


def _attempt(trigger: Trigger, data: dict[str, Any], matter_id: int | None) -> Attempt:
    try:
        actor = _acting_admin(trigger)
        _check_depth(trigger, data)
        matter, proposed = _matter_for(trigger, actor, data, matter_id)
    except (Refused, DomainError) as error:
        return Attempt(FiringOutcome.FAILED, _words(error), matter_id)
    found_id = matter.id if matter is not None else None
    variables = {
        "trigger": {"type": trigger.kind, "data": data},
        "matter": matter_variables(matter) if matter is not None else proposed,
    }
    if trigger.condition:
        try:
            holds = evaluate_condition(trigger.condition, variables)
        except ExpressionError as error:
            reason = f"The condition could not be evaluated: {error}."
            return Attempt(FiringOutcome.FAILED, reason, found_id)
        if not holds:
            reason = f"The condition {trigger.condition} was false."
            return Attempt(FiringOutcome.FILTERED, reason, found_id)
    try:
        with savepoint():
            if matter is None:
                matter = _open_matter(actor, proposed)
            instance_id = _start(trigger, actor, matter, data, variables)
    except (Refused, DomainError, TemplatingError) as error:
        return Attempt(FiringOutcome.FAILED, _words(error), found_id)
    return Attempt(FiringOutcome.STARTED, None, matter.id, instance_id)


def _words(error: Exception) -> str:
    message = error.message if isinstance(error, DomainError) else str(error)
    return message if message.endswith(".") else f"{message}."


def _acting_admin(trigger: Trigger) -> User:
    admin = db.session.get(User, trigger.created_by_id)
    if admin is None or not admin.active or admin.role != Role.ADMIN:
        raise Refused(
            "The admin who set up this trigger can no longer act for it; an admin should "
            "save the trigger again to take it over"
        )
    return admin


def _check_depth(trigger: Trigger, data: dict[str, Any]) -> None:
    if trigger.kind != TriggerKind.EVENT:
        return
    limit = current_app.config.get("TRIGGER_EVENT_MAX_DEPTH", DEFAULT_EVENT_MAX_DEPTH)
    depth = data.get("depth", 0)
    if isinstance(depth, int) and depth >= limit:
        raise Refused(
            f"Stopped a loop: this event comes from a chain of {depth} workflows started "
            f"by events, and the limit is {limit}"
        )


def matter_variables(matter: Matter) -> dict[str, Any]:
    return {
        "id": matter.id,
        "reference": matter.reference,
        "title": matter.title,
        "status": matter.status,
    }


def _matter_for(
    trigger: Trigger, actor: User, data: dict[str, Any], matter_id: int | None
) -> tuple[Matter | None, dict[str, Any]]:
    """The matter to start on, or None and what the payload proposes to open."""
    rule = trigger.matter_rule or {}
    if "id" in rule:
        return _matter_by_id(actor, rule["id"]), {}
    if rule.get("create"):
        return None, _proposed_matter(rule, data)
    if matter_id is not None:
        return _matter_by_id(actor, matter_id), {}
    if data.get("matterId") is not None:
        return _matter_by_id(actor, data["matterId"]), {}
    reference = data.get("matterReference")
    if isinstance(reference, str) and reference:
        matter = db.session.scalar(
            select(Matter).where(Matter.org_id == actor.org_id, Matter.reference == reference)
        )
        if matter is None:
            raise Refused(f"There is no matter with the reference {reference!r}")
        return matter, {}
    raise Refused("The payload names no matter: send matterId or matterReference")


def _matter_by_id(actor: User, matter_id: Any) -> Matter:
    matter = db.session.get(Matter, matter_id) if isinstance(matter_id, int) else None
    if matter is None or matter.org_id != actor.org_id:
        raise Refused(f"Matter {matter_id} was not found")
    return matter


def _proposed_matter(rule: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    given = data.get("matter")
    if not isinstance(given, dict) or not given.get("reference") or not given.get("title"):
        raise Refused('The payload must describe the matter to open: "matter": {reference, title}')
    owner = given.get("ownerId", rule.get("ownerId"))
    return {
        "reference": str(given["reference"]),
        "title": str(given["title"]),
        "status": "OPEN",
        "ownerId": owner,
    }


def _open_matter(actor: User, proposed: dict[str, Any]) -> Matter:
    owner = proposed.get("ownerId")
    command = matters.Create(
        proposed["reference"], proposed["title"], owner if isinstance(owner, int) else None
    )
    return matters.perform(actor, None, command).kept()


def _start(
    trigger: Trigger,
    actor: User,
    matter: Matter,
    data: dict[str, Any],
    variables: dict[str, Any],
) -> int:
    variables = {**variables, "matter": matter_variables(matter)}
    given = data.get("parameters") if trigger.kind == TriggerKind.WEBHOOK else None
    parameters = {
        **(given if isinstance(given, dict) else {}),
        **render_value(trigger.parameters or {}, variables),
    }
    template: int | str = trigger.template_key
    if trigger.template_version is not None:
        try:
            template = find_template(actor, trigger.template_key, trigger.template_version).id
        except NotFound:
            raise Refused(
                f"Template {trigger.template_key!r} has no version {trigger.template_version}"
            ) from None
    instance, _ = instantiate(
        actor,
        template,
        matter.id,
        parameters=parameters,
        started_by=StartedBy(trigger.kind, data),
    )
    return instance.id
