"""Moving an instance forward after any change: activate steps whose prerequisites are
done, keep `current_step`, and let the instance status follow its steps. Flush only."""

from typing import Any

from webapp.engine.actions import automated_types, get_handler
from webapp.engine.definition import parse_duration
from webapp.engine.progress import current_step_order, derived_status, steps_to_activate
from webapp.engine.states import (
    ACTIVE_STATUSES,
    InstanceStatus,
    StepEvent,
    StepState,
    instance_path,
    next_step_state,
)
from webapp.models import InstanceStep, WorkflowInstance
from webapp.models.base import utcnow
from webapp.services.base import enqueue, record_event


def step_event(
    instance: WorkflowInstance,
    step: InstanceStep,
    event: StepEvent,
    actor_id: int | None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Apply one event of the step machine and write its audit row."""
    old = step.action_state
    step.action_state = next_step_state(old, event)
    now = utcnow()
    step.updated_at = now
    if step.action_state == StepState.IN_PROGRESS and step.started_at is None:
        step.started_at = now
    if step.action_state in (StepState.COMPLETED, StepState.SKIPPED, StepState.FAILED):
        step.completed_at = now
    record_event(
        org_id=instance.org_id,
        event_type=f"step.{event.value}",
        actor_id=actor_id,
        matter_id=instance.matter_id,
        instance_id=instance.id,
        step_id=step.id,
        old_status=old,
        new_status=step.action_state,
        payload={"key": step.key, **(payload or {})},
    )


def condition_holds(step: InstanceStep, instance: WorkflowInstance) -> bool:
    if not step.condition:
        return True
    from webapp.services.conditions import evaluate_condition

    return evaluate_condition(step, instance)


def activate(instance: WorkflowInstance, step: InstanceStep) -> None:
    if not condition_holds(step, instance):
        step_event(instance, step, StepEvent.BYPASS, None, {"condition": step.condition})
        return
    step_event(instance, step, StepEvent.ACTIVATE, None)
    if step.due_in:
        step.due_at = utcnow() + parse_duration(step.due_in)
    if get_handler(step.action_type).automated:
        enqueue(
            "step.run",
            {"stepId": step.id, "instanceId": instance.id},
            org_id=instance.org_id,
            dedupe_key=f"run:{step.id}:{step.attempt}",
        )
    else:
        enqueue(
            "notify.step_ready",
            {"stepId": step.id, "instanceId": instance.id},
            org_id=instance.org_id,
            dedupe_key=f"ready:{step.id}:{step.version_id or 0}",
        )


def set_status(
    instance: WorkflowInstance,
    target: InstanceStatus,
    actor_id: int | None,
    reason: str | None = None,
) -> None:
    """Move the instance along the machine, one audit row per status it passes."""
    for status in instance_path(instance.status, target):
        old = instance.status
        instance.status = status
        record_event(
            org_id=instance.org_id,
            event_type="instance.status_changed",
            actor_id=actor_id,
            matter_id=instance.matter_id,
            instance_id=instance.id,
            old_status=old,
            new_status=status,
            payload={"reason": reason} if reason else {},
        )
    instance.updated_at = utcnow()


def advance(instance: WorkflowInstance, actor_id: int | None = None, settle: bool = True) -> None:
    """`settle=False` keeps a just-started instance Running unless it is already finished."""
    steps = instance.steps
    if instance.status in ACTIVE_STATUSES:
        while True:
            ready = steps_to_activate(steps)
            if not ready:
                break
            for step in ready:
                activate(instance, step)
    instance.current_step = current_step_order(steps)
    if instance.status not in ACTIVE_STATUSES or not steps:
        return
    target = derived_status(steps, automated_types())
    if settle or target in (InstanceStatus.COMPLETED, InstanceStatus.FAILED):
        set_status(instance, target, actor_id)
