"""Readiness of steps and the instance status they imply.

`next_moves` answers "which PENDING steps move now, and how" from the steps alone; the
service applies the moves (evaluating conditions, rendering templates) and asks again
until nothing moves. The graph is indexed once (engine/graph.py); asked what follows
some steps that just moved, `next_moves` looks only at their neighbours, and `reads`
names those neighbours so a caller can load just them. The status and current step need
only a `Tally` of the steps, which a database can count without loading them."""

from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, cast

from webapp.engine.graph import Graph
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
    """The steps of one instance, indexed for the readiness questions. `graph` and
    `step_of` let a caller give the graph (built from the step structure alone) and the
    steps' states separately, loading a step only when it is asked for."""

    def __init__(
        self,
        steps: Sequence[StepLike] = (),
        *,
        graph: Graph | None = None,
        step_of: Callable[[str], StepLike | None] | None = None,
    ) -> None:
        self.graph = graph or Graph(steps)
        # Without `step_of`, the graph's nodes are the `steps` given: StepLike.
        self.step_of: Callable[[str], StepLike | None] = step_of or cast(
            "Callable[[str], StepLike | None]", self.graph.by_key.get
        )

    def satisfied(self, key: str) -> bool:
        """Whether a prerequisite no longer holds its dependents back. A failed step with a
        failure route counts once its handler is done: the handler stands in for it."""
        step = self.step_of(key) if key in self.graph.by_key else None
        if step is None:  # removed from the instance: it cannot block
            return True
        if step.action_state in DONE_STATES:
            return True
        if step.action_state == StepState.FAILED and step.on_failure:
            handler = (
                self.step_of(step.on_failure) if step.on_failure in self.graph.by_key else None
            )
            return handler is None or handler.action_state in DONE_STATES
        return False

    def prerequisites_done(self, step: StepLike) -> bool:
        return all(self.satisfied(key) for key in self.graph.prerequisites[step.key])

    def next_moves(self, after: Iterable[str] | None = None) -> list[Decision]:
        """Every move due now; with `after` (keys of steps that just moved), only the moves
        those can have caused — the graph does not change while an instance advances."""
        decisions = []
        for key in self._candidates(after):
            step = self.step_of(key)
            if step is None or step.action_state != StepState.PENDING:
                continue
            decision = self._decide(step)
            if decision is not None:
                decisions.append(decision)
        return decisions

    def reads(self, after: Iterable[str]) -> set[str]:
        """The keys of every step `next_moves(after)` may look at."""
        candidates = self._candidates(after)
        keys = set(candidates)
        for key in candidates:
            prerequisites = self.graph.sources.get(key) or self.graph.prerequisites[key]
            keys.update(prerequisites)
            for p in prerequisites:  # a failed prerequisite defers to its handler
                node = self.graph.by_key.get(p)
                if node is not None and node.on_failure:
                    keys.add(node.on_failure)
        return keys & self.graph.by_key.keys()

    def _candidates(self, after: Iterable[str] | None) -> list[str]:
        if after is None:
            return [node.key for node in self.graph.ordered]
        keys = {k for key in after for k in self.graph.dependents.get(key, ())}
        return sorted(keys, key=self._order)

    def _order(self, key: str) -> int:
        return self.graph.by_key[key].order

    def _decide(self, step: StepLike) -> Decision | None:
        if self.graph.is_handler(step.key):
            found = [self.step_of(k) for k in self.graph.sources[step.key]]
            sources = [s for s in found if s is not None]
            failed = tuple(s.key for s in sources if s.action_state == StepState.FAILED)
            if failed:
                return Decision(step, Move.ROUTE, failed)
            if all(s.action_state in DONE_STATES for s in sources):
                return Decision(step, Move.NOT_NEEDED, tuple(s.key for s in sources))
            return None
        if self.prerequisites_done(step):
            return Decision(step, Move.ACTIVATE)
        return None


@dataclass(frozen=True)
class Tally:
    """Steps alike in everything the instance status reads: how many, and the lowest and
    highest order among them."""

    action_state: str
    action_type: str
    required: bool
    on_failure: str | None
    count: int
    first_order: int
    last_order: int


def tally(steps: Iterable[StepLike]) -> list[Tally]:
    groups: dict[tuple[str, str, bool, str | None], list[int]] = {}
    for s in steps:
        groups.setdefault((s.action_state, s.action_type, s.required, s.on_failure), []).append(
            s.order
        )
    return [
        Tally(*group, len(orders), min(orders), max(orders)) for group, orders in groups.items()
    ]


def current_order(tallies: Sequence[Tally], last_order: int | None = None) -> int:
    """The lowest order of a step not yet done; when all are done, the last step
    (`last_order`, for tallies that leave the done steps out)."""
    open_orders = [t.first_order for t in tallies if t.action_state not in DONE_STATES]
    if open_orders:
        return min(open_orders)
    if last_order is not None:
        return last_order
    return max((t.last_order for t in tallies), default=0)


def derived_status(steps: Sequence[StepLike], automated_types: frozenset[str]) -> InstanceStatus:
    """The status the engine gives a running instance, from its steps alone."""
    return status_of(tally(steps), {s.key for s in steps}, automated_types)


def status_of(
    tallies: Sequence[Tally], keys: Container[str], automated_types: frozenset[str]
) -> InstanceStatus:
    """`keys`: every step key of the instance (a failure routed to a missing step is not
    routed)."""
    unrouted_failure = any(
        t.required
        and t.action_state == StepState.FAILED
        and not (t.on_failure and t.on_failure in keys)
        for t in tallies
    )
    if unrouted_failure:
        return InstanceStatus.FAILED
    if all(t.action_state in CLOSED_STATES for t in tallies if t.required):
        return InstanceStatus.COMPLETED
    open_types = {t.action_type for t in tallies if t.action_state in OPEN_STATES}
    if not open_types or open_types & automated_types:
        return InstanceStatus.RUNNING
    if open_types <= APPROVAL_TYPES:
        return InstanceStatus.WAITING_FOR_APPROVAL
    return InstanceStatus.WAITING_FOR_INPUT
