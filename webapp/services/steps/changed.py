"""What a change moved, as the journal recorded it: the door returns it, and a page
re-renders only the regions it names."""

from dataclasses import dataclass
from typing import Any

from webapp.engine.eligibility import MatterAccess
from webapp.persistence.journal import Move


@dataclass(frozen=True)
class StepMove:
    step_id: int
    key: str
    before: str
    after: str


@dataclass(frozen=True)
class Changed:
    """`instance` is the instance as the change left it; `step_id` the step the command
    was about and `step_state` its state now; `steps` every step whose state moved, in
    order; `status` the instance's (before, after) when it moved."""

    instance: Any
    instance_id: int
    matter_id: int
    step_id: int | None
    steps: tuple[StepMove, ...]
    status: tuple[str, str] | None
    step_state: str | None = None
    access: MatterAccess | None = None  # the matter's people, as the change read them

    @property
    def step_ids(self) -> frozenset[int]:
        moved = {move.step_id for move in self.steps}
        return frozenset(moved | ({self.step_id} if self.step_id is not None else set()))

    @property
    def states(self) -> frozenset[str]:
        """The step states whose groups of steps a page must show again: where each moved
        step was before the change and where it is after it (a step started and
        completed in one call never shows in progress)."""
        first: dict[int, str] = {}
        last: dict[int, str] = {}
        for move in self.steps:
            first.setdefault(move.step_id, move.before)
            last[move.step_id] = move.after
        return frozenset(first.values()) | frozenset(last.values())


def changed_from(
    instance: Any,
    step_id: int | None,
    moves: list[Move],
    status_before: str,
    step_state: str | None = None,
    access: MatterAccess | None = None,
) -> Changed:
    steps = tuple(
        StepMove(move.step_id, move.key, move.before, move.after)
        for move in moves
        if move.instance_id == instance.id
        and move.step_id is not None
        and move.key is not None
        and move.before is not None
        and move.after is not None
    )
    status_after = instance.status
    return Changed(
        instance=instance,
        instance_id=instance.id,
        matter_id=instance.matter_id,
        step_id=step_id,
        steps=steps,
        status=(status_before, status_after) if status_after != status_before else None,
        step_state=step_state,
        access=access,
    )
