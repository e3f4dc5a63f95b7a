"""The two state machines, each one declarative table.

Step (`action_state`), from DESIGN.md:
- PENDING -> READY when every prerequisite is COMPLETED or SKIPPED (engine: `activate`)
- PENDING -> SKIPPED when the step's condition is false (engine: `bypass`)
- PENDING -> FAILED when its condition or templates cannot be evaluated (engine: `fail`)
- READY -> IN_PROGRESS when an eligible performer claims or starts it
- IN_PROGRESS -> COMPLETED | FAILED | BLOCKED; BLOCKED -> IN_PROGRESS (unblock)
- READY | IN_PROGRESS -> SKIPPED (admin, or any eligible performer of an optional step)
- FAILED -> READY when an admin retries it (`retry`)

Instance (`status`), from seed 000:
- Created -> Running | Cancelled
- Running -> Paused | WaitingForInput | WaitingForApproval | Completed | Failed | Cancelled
- Paused, WaitingForInput, WaitingForApproval -> Running | Cancelled
- Completed, Failed and Cancelled are terminal.

People (PATCH /instances/{id}) set only Running (start a Created instance, resume a
Paused one), Paused and Cancelled; the engine sets the rest from the steps. Asking for
one of the rest is never valid (400); asking for a move the machine does not make from
the current status conflicts with that status (409). Pausing an
instance that waits on people passes through Running, the machine's only way to Paused.
"""

from enum import StrEnum

from webapp.engine.errors import Invalid, InvalidTransition


class StepState(StrEnum):
    PENDING = "PENDING"
    READY = "READY"
    IN_PROGRESS = "IN_PROGRESS"
    BLOCKED = "BLOCKED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class StepEvent(StrEnum):
    ACTIVATE = "activate"
    BYPASS = "bypass"
    CLAIM = "claim"
    START = "start"
    COMPLETE = "complete"
    FAIL = "fail"
    BLOCK = "block"
    UNBLOCK = "unblock"
    SKIP = "skip"
    RETRY = "retry"


S, E = StepState, StepEvent

STEP_TRANSITIONS: dict[tuple[StepState, StepEvent], StepState] = {
    (S.PENDING, E.ACTIVATE): S.READY,
    (S.PENDING, E.BYPASS): S.SKIPPED,
    (S.PENDING, E.FAIL): S.FAILED,
    (S.READY, E.CLAIM): S.IN_PROGRESS,
    (S.READY, E.START): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.COMPLETE): S.COMPLETED,
    (S.IN_PROGRESS, E.FAIL): S.FAILED,
    (S.IN_PROGRESS, E.BLOCK): S.BLOCKED,
    (S.BLOCKED, E.UNBLOCK): S.IN_PROGRESS,
    (S.READY, E.SKIP): S.SKIPPED,
    (S.IN_PROGRESS, E.SKIP): S.SKIPPED,
    (S.FAILED, E.RETRY): S.READY,
}

OPEN_STATES = frozenset({S.READY, S.IN_PROGRESS, S.BLOCKED})
DONE_STATES = frozenset({S.COMPLETED, S.SKIPPED})
CLOSED_STATES = frozenset({S.COMPLETED, S.SKIPPED, S.FAILED})

_STEP_HINTS = {
    S.PENDING: "it is waiting for its prerequisites",
    S.READY: "it has not been started yet",
    S.BLOCKED: "it is blocked; unblock it first",
    S.COMPLETED: "it is already completed",
    S.FAILED: "it has failed",
    S.SKIPPED: "it was skipped",
    S.IN_PROGRESS: "it is already in progress",
}


def next_step_state(state: StepState | str, event: StepEvent | str) -> StepState:
    state, event = StepState(state), StepEvent(event)
    target = STEP_TRANSITIONS.get((state, event))
    if target is None:
        raise InvalidTransition(
            f"Cannot {event.value} a step that is {state.value}: {_STEP_HINTS[state]}.",
            {"state": state.value, "event": event.value},
        )
    return target


def step_events_from(state: StepState | str) -> list[StepEvent]:
    return [event for (source, event) in STEP_TRANSITIONS if source == StepState(state)]


class InstanceStatus(StrEnum):
    CREATED = "Created"
    RUNNING = "Running"
    PAUSED = "Paused"
    WAITING_FOR_INPUT = "WaitingForInput"
    WAITING_FOR_APPROVAL = "WaitingForApproval"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


IS = InstanceStatus

INSTANCE_TRANSITIONS: dict[InstanceStatus, frozenset[InstanceStatus]] = {
    IS.CREATED: frozenset({IS.RUNNING, IS.CANCELLED}),
    IS.RUNNING: frozenset(
        {
            IS.PAUSED,
            IS.WAITING_FOR_INPUT,
            IS.WAITING_FOR_APPROVAL,
            IS.COMPLETED,
            IS.FAILED,
            IS.CANCELLED,
        }
    ),
    IS.PAUSED: frozenset({IS.RUNNING, IS.CANCELLED}),
    IS.WAITING_FOR_INPUT: frozenset({IS.RUNNING, IS.CANCELLED}),
    IS.WAITING_FOR_APPROVAL: frozenset({IS.RUNNING, IS.CANCELLED}),
    IS.COMPLETED: frozenset(),
    IS.FAILED: frozenset(),
    IS.CANCELLED: frozenset(),
}

TERMINAL_STATUSES = frozenset({IS.COMPLETED, IS.FAILED, IS.CANCELLED})
# Statuses in which people and the worker may move steps.
ACTIVE_STATUSES = frozenset({IS.RUNNING, IS.WAITING_FOR_INPUT, IS.WAITING_FOR_APPROVAL})


def check_instance_transition(current: InstanceStatus | str, target: InstanceStatus | str) -> None:
    current, target = InstanceStatus(current), InstanceStatus(target)
    allowed = INSTANCE_TRANSITIONS[current]
    if target in allowed:
        return
    if not allowed:
        reason = f"{current.value} is a final status"
    else:
        reason = "allowed next statuses are " + ", ".join(sorted(s.value for s in allowed))
    raise InvalidTransition(
        f"Cannot move an instance from {current.value} to {target.value}: {reason}.",
        {"from": current.value, "to": target.value, "allowed": sorted(s.value for s in allowed)},
    )


# The statuses a person may ask for; the engine derives the others from the steps.
MANUAL_STATUSES = frozenset({IS.RUNNING, IS.PAUSED, IS.CANCELLED})
WAITING_STATUSES = frozenset({IS.WAITING_FOR_INPUT, IS.WAITING_FOR_APPROVAL})


def check_manual_transition(current: InstanceStatus | str, target: InstanceStatus | str) -> None:
    """Refuse, with a sentence for the person, a status change they may not ask for: a
    status only the engine sets is never valid (Invalid, 400); a status the machine does
    not reach from the current one conflicts with that state (InvalidTransition, 409)."""
    current, target = InstanceStatus(current), InstanceStatus(target)
    if target not in MANUAL_STATUSES:
        raise Invalid(
            f"{target.value} is set by the engine from the steps, not by hand.",
            {"from": current.value, "to": target.value, "manual": sorted(MANUAL_STATUSES)},
        )
    if target == current:
        raise InvalidTransition(
            f"This workflow is already {current.value}.",
            {"from": current.value, "to": target.value},
        )
    if not (target == IS.PAUSED and current in WAITING_STATUSES):
        check_instance_transition(current, target)
    if target == IS.RUNNING and current not in (IS.CREATED, IS.PAUSED):
        raise InvalidTransition(
            f"This workflow is already running ({current.value}): Running starts a Created "
            "workflow or resumes a Paused one.",
            {"from": current.value, "to": target.value},
        )


def instance_path(
    current: InstanceStatus | str, target: InstanceStatus | str
) -> list[InstanceStatus]:
    """The statuses the engine passes through to reach `target`: the machine has no
    WaitingForInput -> Completed edge, so such a move goes through Running."""
    current, target = InstanceStatus(current), InstanceStatus(target)
    if current == target:
        return []
    if target in INSTANCE_TRANSITIONS[current]:
        return [target]
    if IS.RUNNING in INSTANCE_TRANSITIONS[current] and target in INSTANCE_TRANSITIONS[IS.RUNNING]:
        return [IS.RUNNING, target]
    check_instance_transition(current, target)
    return [target]
