"""How far one workflow definition has moved from another, compared step by step key.

The same comparison serves two questions: how an instance differs from the template
version it was created from (drift, computed at read time and never stored), and what an
edit of an instance changed (the entries of its append-only history). It compares
definitions only: runtime state (action state, working data, rendered values) is not part
of a definition and never counts as drift."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from webapp.engine.definition import DEFINITION_FIELDS

METADATA_FIELDS = ("title",)

StepDict = Mapping[str, Any]


@dataclass(frozen=True)
class StepChange:
    key: str
    changes: dict[str, dict[str, Any]]  # field -> {"from": base value, "to": current value}

    @property
    def fields(self) -> list[str]:
        return list(self.changes)


@dataclass(frozen=True)
class Drift:
    steps_added: list[str] = field(default_factory=list)
    steps_removed: list[str] = field(default_factory=list)
    steps_reordered: bool = False
    order_before: list[str] = field(default_factory=list)
    order_after: list[str] = field(default_factory=list)
    steps_modified: list[StepChange] = field(default_factory=list)
    metadata_changes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def metadata_changed(self) -> bool:
        return bool(self.metadata_changes)

    @property
    def is_drifted(self) -> bool:
        return bool(
            self.steps_added
            or self.steps_removed
            or self.steps_reordered
            or self.steps_modified
            or self.metadata_changes
        )


def _normalized(field_name: str, value: Any) -> Any:
    # An empty config and a missing one mean the same; so do "" and None for text fields.
    if field_name == "actionConfig":
        return dict(value or {})
    if value == "" and field_name in ("condition", "onFailure", "dueIn"):
        return None
    return value


def step_changes(base: StepDict, current: StepDict) -> dict[str, dict[str, Any]]:
    changes = {}
    for name in DEFINITION_FIELDS:
        before, after = _normalized(name, base.get(name)), _normalized(name, current.get(name))
        if before != after:
            changes[name] = {"from": before, "to": after}
    return changes


def relative_order_changed(before: Sequence[str], after: Sequence[str]) -> bool:
    """Did the steps present in both lists change places? Adding or removing a step
    shifts positions but is not a reordering."""
    common = set(before) & set(after)
    return [k for k in before if k in common] != [k for k in after if k in common]


def compare(
    base_steps: Sequence[StepDict],
    current_steps: Sequence[StepDict],
    base_metadata: Mapping[str, Any] | None = None,
    current_metadata: Mapping[str, Any] | None = None,
) -> Drift:
    """Steps are matched by `key`; each sequence is in step order."""
    base_keys = [s["key"] for s in base_steps]
    current_keys = [s["key"] for s in current_steps]
    base_by_key = {s["key"]: s for s in base_steps}
    modified = []
    for step in current_steps:
        before = base_by_key.get(step["key"])
        if before is not None and (changes := step_changes(before, step)):
            modified.append(StepChange(step["key"], changes))
    base_metadata, current_metadata = base_metadata or {}, current_metadata or {}
    metadata = {
        name: {"from": base_metadata.get(name), "to": current_metadata.get(name)}
        for name in METADATA_FIELDS
        if base_metadata.get(name) != current_metadata.get(name)
    }
    return Drift(
        steps_added=[k for k in current_keys if k not in base_by_key],
        steps_removed=[k for k in base_keys if k not in set(current_keys)],
        steps_reordered=relative_order_changed(base_keys, current_keys),
        order_before=base_keys,
        order_after=current_keys,
        steps_modified=modified,
        metadata_changes=metadata,
    )
