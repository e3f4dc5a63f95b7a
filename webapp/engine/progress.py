"""Readiness of steps and the instance status they imply."""

from collections.abc import Sequence
from typing import Protocol

from webapp.engine.states import (
    CLOSED_STATES,
    DONE_STATES,
    OPEN_STATES,
    InstanceStatus,
    StepState,
)

APPROVAL_TYPES = frozenset({"APPROVAL_LAWYER"})


class StepLike(Protocol):
    key: str
    order: int
    action_type: str
    action_state: str
    required: bool
    depends_on: list[str] | None
    on_failure: str | None


def prerequisites(step: StepLike, steps: Sequence[StepLike]) -> list[str]:
    """`depends_on` null means the previous step by order; [] means none."""
    if step.depends_on is not None:
        return list(step.depends_on)
    earlier = [s for s in steps if s.order < step.order]
    return [max(earlier, key=lambda s: s.order).key] if earlier else []


def prerequisites_done(step: StepLike, steps: Sequence[StepLike]) -> bool:
    states = {s.key: s.action_state for s in steps}
    # A prerequisite that no longer exists (removed from the instance) does not block.
    return all(
        states.get(key, StepState.COMPLETED) in DONE_STATES for key in prerequisites(step, steps)
    )


def steps_to_activate(steps: Sequence[StepLike]) -> list[StepLike]:
    return [
        s for s in steps if s.action_state == StepState.PENDING and prerequisites_done(s, steps)
    ]


def current_step_order(steps: Sequence[StepLike]) -> int:
    open_orders = [s.order for s in steps if s.action_state not in DONE_STATES]
    if open_orders:
        return min(open_orders)
    return max((s.order for s in steps), default=0)


def derived_status(steps: Sequence[StepLike], automated_types: frozenset[str]) -> InstanceStatus:
    """The status the engine gives a running instance, from its steps alone."""
    routed = {s.key for s in steps if s.action_state == StepState.FAILED and s.on_failure}
    if any(
        s.required and s.action_state == StepState.FAILED and s.key not in routed for s in steps
    ):
        return InstanceStatus.FAILED
    if all(s.action_state in CLOSED_STATES for s in steps if s.required):
        return InstanceStatus.COMPLETED
    open_steps = [s for s in steps if s.action_state in OPEN_STATES]
    if not open_steps or any(s.action_type in automated_types for s in open_steps):
        return InstanceStatus.RUNNING
    if all(s.action_type in APPROVAL_TYPES for s in open_steps):
        return InstanceStatus.WAITING_FOR_APPROVAL
    return InstanceStatus.WAITING_FOR_INPUT
