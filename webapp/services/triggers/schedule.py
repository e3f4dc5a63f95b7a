"""Schedule triggers, run by the worker's scheduler tick. A tick takes the due schedules
with `FOR UPDATE SKIP LOCKED` (a schedule another worker is firing is left to it), fires
each due time and moves `next_fire_at` past now, in one transaction: however many workers
tick, a fire time fires once (and the firing's unique key would refuse a second one).

What a worker that was down does with the times it missed is the trigger's `missed`:
`fire_once` fires the latest of them once; `skip` fires none of them, only a time that
is due within GRACE of now (a tick a little late is not a missed time)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from webapp.engine.errors import DomainError
from webapp.engine.expressions import ExpressionError, evaluate_condition
from webapp.engine.schedules import due_times, next_fire_time
from webapp.extensions import db
from webapp.models import Matter, Trigger
from webapp.models.triggers import TriggerKind
from webapp.persistence.transaction import transactional
from webapp.services.clock import now as clock_now
from webapp.services.triggers.firing import Fired, fire, matter_variables

GRACE = timedelta(minutes=1)
TICK_BATCH = 20
SKIP, FIRE_ONCE = "skip", "fire_once"


def next_fire_at(trigger: Trigger, after: datetime) -> datetime | None:
    schedule = trigger.schedule or {}
    if trigger.kind != TriggerKind.SCHEDULE or not schedule.get("cron"):
        return None
    return next_fire_time(schedule["cron"], schedule.get("timezone", "UTC"), after)


@transactional
def tick(at: datetime | None = None) -> list[Fired]:
    """Fire the schedules due at `at` (the clock's now by default)."""
    at = at or clock_now()
    due = db.session.scalars(
        select(Trigger)
        .where(
            Trigger.kind == TriggerKind.SCHEDULE,
            Trigger.enabled,
            Trigger.next_fire_at <= at,
        )
        .order_by(Trigger.next_fire_at, Trigger.id)
        .limit(TICK_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    fired: list[Fired] = []
    for trigger in due:
        fired.extend(_fire_due(trigger, at))
        trigger.next_fire_at = next_fire_at(trigger, at)
    return fired


def tick_and_wait() -> float:
    """Tick, then the seconds until the next schedule falls due (0 if one is due now)."""
    tick()
    at = clock_now()
    upcoming = db.session.scalar(
        select(func.min(Trigger.next_fire_at)).where(
            Trigger.kind == TriggerKind.SCHEDULE, Trigger.enabled
        )
    )
    db.session.commit()  # end the read: an idle worker holds no snapshot while it waits
    if upcoming is None:
        return float("inf")
    return max(0.0, (upcoming - at).total_seconds())


def _fire_due(trigger: Trigger, at: datetime) -> list[Fired]:
    schedule = trigger.schedule or {}
    since = trigger.next_fire_at or at
    times = due_times(schedule["cron"], schedule.get("timezone", "UTC"), since, at)
    if not times:
        return []
    latest = times[-1]
    if schedule.get("missed", SKIP) == SKIP and at - latest > GRACE:
        return []
    data = {
        "scheduledFor": latest.isoformat(),
        "timezone": schedule.get("timezone", "UTC"),
        "missed": len(times) - 1,
    }
    key = f"schedule:{latest.isoformat()}"
    rule = trigger.matter_rule or {}
    if "filter" not in rule:
        return [fire(trigger, key, data, latest)]
    return [
        fire(trigger, f"{key}:matter:{matter.id}", data, latest, matter.id)
        for matter in selected_matters(trigger, rule["filter"], data)
    ]


def selected_matters(trigger: Trigger, condition: str, data: dict[str, Any]) -> list[Matter]:
    """The firm's open matters the filter selects. A matter the filter cannot be
    evaluated on is left out, as a false condition leaves it."""
    matters = db.session.scalars(
        select(Matter)
        .where(Matter.org_id == trigger.org_id, Matter.status == "OPEN")
        .order_by(Matter.id)
    ).all()
    selected = []
    for matter in matters:
        variables = {
            "matter": matter_variables(matter),
            "trigger": {"type": "schedule", "data": data},
        }
        try:
            if evaluate_condition(condition, variables):
                selected.append(matter)
        except (ExpressionError, DomainError):
            continue
    return selected
