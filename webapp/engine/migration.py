"""Moving a running instance to a newer version of its template: the plan, in plain words.

Three definitions meet, matched by step key: the version the instance pins (`old`), the
version it moves to (`new`) and the instance's own definition (`current`, as written,
not as rendered). What the new version changes replaces the instance's step; what it
leaves alone keeps the instance's own edits; steps the instance added are kept unless
the new version takes their key. Work already done is never undone, so a step that has
left PENDING may not be changed, removed, moved or made to wait for something else
(DESIGN.md, "State machines": Migration). Pure: plain values in, a plan out."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

from webapp.engine.drift import step_changes
from webapp.engine.publishing import publish_problems
from webapp.engine.states import StepState

StepDict = Mapping[str, Any]


class RunStatus(StrEnum):
    """A bulk migration: waiting for the worker, worked off in batches, finished."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"


class Outcome(StrEnum):
    """What a bulk migration did, or in a dry run would do, to one instance."""

    WOULD_MIGRATE = "WOULD_MIGRATE"
    MIGRATED = "MIGRATED"
    BLOCKED = "BLOCKED"
    FAILED = "FAILED"


# A definition field as people name it.
FIELD_WORDS = {
    "title": "title",
    "actionType": "kind of action",
    "actionConfig": "settings",
    "roleScope": "who acts",
    "required": "whether it is required",
    "dependsOn": "what it waits for",
    "condition": "condition",
    "onFailure": "failure route",
    "retry": "retry policy",
    "dueIn": "due time",
}

STATE_WORDS = {
    StepState.READY: "ready to be worked on",
    StepState.IN_PROGRESS: "in progress",
    StepState.COMPLETED: "completed",
    StepState.FAILED: "failed",
    StepState.BLOCKED: "blocked",
    StepState.SKIPPED: "skipped",
}


@dataclass(frozen=True)
class CurrentStep:
    """A step of the running instance: its definition as written, and its state."""

    definition: StepDict
    state: str


@dataclass(frozen=True)
class Change:
    kind: str  # added, removed, changed, reordered, edit_kept, edit_overwritten, own_step_kept, own_step_replaced
    key: str
    title: str
    sentence: str
    fields: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Blocker:
    key: str | None
    title: str | None
    state: str | None
    sentence: str


@dataclass(frozen=True)
class Plan:
    """`result`: the definition the instance would have, in order; `changes` and
    `blockers` say what moving does and what stands in the way, one sentence each."""

    result: list[dict[str, Any]]
    changes: list[Change]
    blockers: list[Blocker]
    changed_keys: list[str]  # steps of the instance whose definition the move rewrites
    removed_keys: list[str]
    added_keys: list[str]

    @property
    def allowed(self) -> bool:
        return not self.blockers


def _q(text: Any) -> str:
    return f"“{text}”"


def _words(fields: Sequence[str]) -> str:
    names = [FIELD_WORDS.get(name, name) for name in fields]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _state_words(state: str) -> str:
    return STATE_WORDS.get(StepState(state), state.lower())


def _lcs_keys(first: Sequence[str], second: Sequence[str]) -> set[str]:
    """The keys of a longest sequence both orders share: the steps that did not move."""
    rows = [[0] * (len(second) + 1) for _ in range(len(first) + 1)]
    for i, left in enumerate(first):
        for j, right in enumerate(second):
            rows[i + 1][j + 1] = (
                rows[i][j] + 1 if left == right else max(rows[i][j + 1], rows[i + 1][j])
            )
    kept, i, j = set(), len(first), len(second)
    while i and j:
        if first[i - 1] == second[j - 1]:
            kept.add(first[i - 1])
            i, j = i - 1, j - 1
        elif rows[i - 1][j] >= rows[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return kept


def prerequisites(steps: Sequence[StepDict]) -> dict[str, list[str]]:
    """What each step waits for: its `dependsOn`, or the previous step when it is null."""
    waits: dict[str, list[str]] = {}
    previous: str | None = None
    for step in steps:
        named = step.get("dependsOn")
        waits[step["key"]] = (
            sorted(named) if named is not None else ([previous] if previous else [])
        )
        previous = step["key"]
    return waits


class _Planner:
    def __init__(
        self, old: Sequence[StepDict], new: Sequence[StepDict], current: Sequence[CurrentStep]
    ) -> None:
        self.old = {s["key"]: s for s in old}
        self.new = {s["key"]: s for s in new}
        self.new_order = [s["key"] for s in new]
        self.current = {s.definition["key"]: s for s in current}
        self.current_order = [s.definition["key"] for s in current]
        self.changes: list[Change] = []
        self.blockers: list[Blocker] = []

    def template_changed(self, key: str) -> bool:
        return (
            key in self.old and key in self.new and bool(step_changes(self.old[key], self.new[key]))
        )

    def kept_removed(self, key: str) -> bool:
        """The instance removed a step the new version keeps: the removal is its own edit."""
        return key in self.old and key not in self.current

    def result_keys(self) -> list[str]:
        keys = [k for k in self.new_order if not self.kept_removed(k)]
        own = [k for k in self.current_order if k not in self.old and k not in self.new]
        for key in own:  # after the step it follows in the instance, else first
            index = self.current_order.index(key)
            anchors = [k for k in reversed(self.current_order[:index]) if k in keys]
            keys.insert(keys.index(anchors[0]) + 1 if anchors else 0, key)
        return keys

    def definition(self, key: str) -> dict[str, Any]:
        mine = self.current.get(key)
        if mine is not None and (
            key not in self.new or (key in self.old and not self.template_changed(key))
        ):
            return dict(mine.definition)
        return dict(self.new[key])

    def note(self, kind: str, key: str, sentence: str, fields: Sequence[str] = ()) -> None:
        step = self.current.get(key)
        title = (self.new.get(key) or (step.definition if step else None) or self.old[key])["title"]
        self.changes.append(Change(kind, key, title, sentence, list(fields)))

    def block(self, key: str, sentence: str) -> None:
        step = self.current[key]
        title = step.definition["title"]
        self.blockers.append(Blocker(key, title, step.state, sentence))


def _describe(planner: _Planner, result_keys: list[str]) -> None:
    p = planner
    for key in p.new_order:
        title = p.new[key]["title"]
        if key not in p.old:
            if key in p.current:
                p.note(
                    "own_step_replaced",
                    key,
                    f"The new version adds a step with the key {_q(key)}, which this workflow "
                    f"already has ({_q(p.current[key].definition['title'])}); the new version's "
                    f"step {_q(title)} takes its place.",
                )
            else:
                p.note("added", key, f"The new version adds the step {_q(title)}.")
        elif p.kept_removed(key):
            p.note(
                "edit_kept",
                key,
                f"This workflow removed the step {_q(title)}; it stays removed.",
            )
        elif p.template_changed(key):
            fields = list(step_changes(p.old[key], p.new[key]))
            own = step_changes(p.old[key], p.current[key].definition)
            if own:
                p.note(
                    "edit_overwritten",
                    key,
                    f"The new version changes the {_words(fields)} of {_q(title)}; this "
                    f"workflow's own change to its {_words(list(own))} is replaced.",
                    fields,
                )
            else:
                p.note(
                    "changed",
                    key,
                    f"The new version changes the {_words(fields)} of {_q(title)}.",
                    fields,
                )
        elif own := step_changes(p.old[key], p.current[key].definition):
            p.note(
                "edit_kept",
                key,
                f"This workflow's own change to the {_words(list(own))} of "
                f"{_q(p.current[key].definition['title'])} is kept.",
                list(own),
            )
    for key in p.old:
        if key not in p.new and key in p.current:
            title = p.current[key].definition["title"]
            p.note("removed", key, f"The new version removes the step {_q(title)}.")
    for key in result_keys:
        if key not in p.old and key not in p.new:
            title = p.current[key].definition["title"]
            p.note("own_step_kept", key, f"The step {_q(title)}, added to this workflow, is kept.")


def _moved(p: _Planner, result_keys: list[str]) -> list[str]:
    common = [k for k in p.current_order if k in set(result_keys)]
    after = [k for k in result_keys if k in p.current]
    still = _lcs_keys(common, after)
    return [k for k in after if k not in still]


def _check(
    p: _Planner, result: list[dict[str, Any]], moved: list[str]
) -> tuple[list[str], list[str]]:
    """Blockers on steps that have left PENDING; returns the changed and removed keys."""
    by_key = {d["key"]: d for d in result}
    changed = [
        k for k in by_key if k in p.current and step_changes(p.current[k].definition, by_key[k])
    ]
    removed = [k for k in p.current_order if k not in by_key]
    waits_before = prerequisites([p.current[k].definition for k in p.current_order])
    waits_after = prerequisites(result)
    for key in p.current_order:
        state = p.current[key].state
        if state == StepState.PENDING:
            continue
        title, words = p.current[key].definition["title"], _state_words(state)
        if key in removed:
            p.block(
                key,
                f"{_q(title)} is {words}; the new version removes it, and work on a step is never thrown away.",
            )
        elif key in changed:
            fields = _words(list(step_changes(p.current[key].definition, by_key[key])))
            p.block(
                key,
                f"{_q(title)} is {words}; the new version changes its {fields}, which only a step not yet reached may have changed.",
            )
        elif key in moved:
            p.block(
                key,
                f"{_q(title)} is {words}; the new version moves it, which only a step not yet reached may be.",
            )
        elif waits_before[key] != waits_after[key]:
            names = (
                ", ".join(_q(by_key[k]["title"]) for k in waits_after[key] if k in by_key)
                or "nothing"
            )
            p.block(
                key, f"{_q(title)} is {words}; in the new version it would wait for {names} first."
            )
    return changed, removed


def _graph_blockers(p: _Planner, result: list[dict[str, Any]]) -> None:
    rows = [
        SimpleNamespace(
            key=d["key"],
            title=d["title"],
            order=index,
            action_type=d["actionType"],
            action_config=d.get("actionConfig") or {},
            role_scope=d["roleScope"],
            condition=d.get("condition"),
            depends_on=d.get("dependsOn"),
            on_failure=d.get("onFailure"),
        )
        for index, d in enumerate(result, start=1)
    ]
    for problem in publish_problems(rows):  # type: ignore[arg-type]  # records shaped as TemplateStep
        key = problem.get("key")
        title = next((d["title"] for d in result if d["key"] == key), None)
        where = f"In {_q(title)}: " if title else ""
        sentence = f"{where}{problem['message']} — the workflow after the move would not be valid."
        p.blockers.append(Blocker(key, title, None, sentence))


def plan(old: Sequence[StepDict], new: Sequence[StepDict], current: Sequence[CurrentStep]) -> Plan:
    """The definition the instance would have on `new`, what changes and what blocks."""
    p = _Planner(old, new, current)
    keys = p.result_keys()
    result = [p.definition(k) for k in keys]
    _describe(p, keys)
    moved = _moved(p, keys)
    for key in moved:
        position = keys.index(key)
        before = next((k for k in reversed(keys[:position]) if k in p.current), None)
        title = result[position]["title"]
        where = f"after {_q(result[keys.index(before)]['title'])}" if before else "first"
        p.note("reordered", key, f"{_q(title)} moves: it now comes {where}.")
    changed, removed = _check(p, result, moved)
    _graph_blockers(p, result)
    added = [k for k in keys if k not in p.current]
    return Plan(result, p.changes, p.blockers, changed, removed, added)
