"""Readiness of steps and the instance status they imply.

`next_moves` answers "which PENDING steps move now, and how" from the steps alone; the
service applies the moves (evaluating conditions, rendering templates) and asks again
until nothing moves. Each call is linear in the number of steps: the graph is indexed
once (engine/graph.py)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from webapp.engine.graph import Graph
from webapp.engine.graph import prerequisites as prerequisites  # re-exported
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


class Move(StrEnum):
    ACTIVATE = "activate"  # prerequisites done: evaluate the condition, then READY or SKIPPED
    ROUTE = "route"  # a source failed: this failure handler runs
    NOT_NEEDED = "not_needed"  # every source finished without failing: the handler is skipped


@dataclass(frozen=True)
class Decision:
    step: StepLike
    move: Move
    sources: tuple[str, ...] = ()


class Progress:
    """The steps of one instance, indexed for the readiness questions."""

    def __init__(self, steps: Sequence[StepLike]) -> None:
        self.steps = steps
        self.graph = Graph(steps)

    def satisfied(self, key: str) -> bool:
        """Whether a prerequisite no longer holds its dependents back. A failed step with a
        failure route counts once its handler is done: the handler stands in for it."""
        step = self.graph.by_key.get(key)
        if step is None:  # removed from the instance: it cannot block
            return True
        if step.action_state in DONE_STATES:
            return True
        if step.action_state == StepState.FAILED and step.on_failure:
            handler = self.graph.by_key.get(step.on_failure)
            return handler is None or handler.action_state in DONE_STATES
        return False

    def prerequisites_done(self, step: StepLike) -> bool:
        return all(self.satisfied(key) for key in self.graph.prerequisites[step.key])

    def next_moves(self, after: Iterable[str] | None = None) -> list[Decision]:
        """Every move due now; with `after` (keys of steps that just moved), only the moves
        those can have caused — the graph does not change while an instance advances."""
        if after is None:
            candidates: Iterable[StepLike] = self.graph.ordered
        else:
            keys = {k for key in after for k in self.graph.dependents.get(key, ())}
            candidates = [self.graph.by_key[k] for k in sorted(keys, key=self._order)]
        decisions = []
        for step in candidates:
            if step.action_state != StepState.PENDING:
                continue
            decision = self._decide(step)
            if decision is not None:
                decisions.append(decision)
        return decisions

    def _order(self, key: str) -> int:
        return self.graph.by_key[key].order

    def _decide(self, step: StepLike) -> Decision | None:
        if self.graph.is_handler(step.key):
            sources = [self.graph.by_key[k] for k in self.graph.sources[step.key]]
            failed = tuple(s.key for s in sources if s.action_state == StepState.FAILED)
            if failed:
                return Decision(step, Move.ROUTE, failed)
            if all(s.action_state in DONE_STATES for s in sources):
                return Decision(step, Move.NOT_NEEDED, tuple(s.key for s in sources))
            return None
        if self.prerequisites_done(step):
            return Decision(step, Move.ACTIVATE)
        return None


def prerequisites_done(step: StepLike, steps: Sequence[StepLike]) -> bool:
    return Progress(steps).prerequisites_done(step)


def steps_to_activate(steps: Sequence[StepLike]) -> list[StepLike]:
    return [d.step for d in Progress(steps).next_moves() if d.move != Move.NOT_NEEDED]


def current_step_order(steps: Sequence[StepLike]) -> int:
    open_orders = [s.order for s in steps if s.action_state not in DONE_STATES]
    if open_orders:
        return min(open_orders)
    return max((s.order for s in steps), default=0)


def derived_status(steps: Sequence[StepLike], automated_types: frozenset[str]) -> InstanceStatus:
    """The status the engine gives a running instance, from its steps alone."""
    keys = {s.key for s in steps}
    routed = {
        s.key
        for s in steps
        if s.action_state == StepState.FAILED and s.on_failure and s.on_failure in keys
    }
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
