"""Plain-language sentences for a workflow's change history and its drift from the
template: "Lee Lawyer added the step 'Collect W-9' at position 3", never a JSON dump."""

import json
from dataclasses import dataclass, field
from typing import Any

from webapp.engine.secret_refs import mask_typed
from webapp.services.instances import HistoryEntry
from webapp.web.reads.common import action_label
from webapp.web.reads.drift import DriftView

FIELD_LABELS = {
    "title": "title",
    "actionType": "action",
    "actionConfig": "settings",
    "roleScope": "who acts",
    "required": "required",
    "dependsOn": "starts after",
    "condition": "condition",
    "onFailure": "if it fails",
    "retry": "retries",
    "dueIn": "due within",
}


@dataclass(frozen=True)
class Sentence:
    text: str
    details: list[str] = field(default_factory=list)  # one line per changed field


def quoted(text: Any) -> str:
    return f"“{text}”"


def shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def field_value(name: str, value: Any, titles: dict[str, str]) -> str:
    if name == "dependsOn":
        if value is None:
            return "the previous step"
        if not value:
            return "no prerequisite"
        return ", ".join(quoted(titles.get(key, key)) for key in value)
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "roleScope":
        return str(value).title()
    if name == "actionType":
        return action_label(value)
    if name == "onFailure":
        return quoted(titles.get(value, value))
    if name == "retry" and isinstance(value, dict):
        attempts = value.get("maxAttempts")
        return f"{attempts} attempts" if attempts else "on"
    if isinstance(value, (dict, list)):
        return shorten(json.dumps(value, ensure_ascii=False))
    return quoted(shorten(str(value)))


def field_change(name: str, change: dict[str, Any], titles: dict[str, str]) -> str:
    """One changed field: "Who acts: Paralegal → Lawyer"; a config names the settings."""
    label = FIELD_LABELS.get(name, name)
    before, after = change.get("from"), change.get("to")
    if name == "actionConfig" and isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        return f"Settings changed: {', '.join(keys)}" if keys else "Settings changed"
    return (
        f"{label[:1].upper()}{label[1:]}: "
        f"{field_value(name, before, titles)} → {field_value(name, after, titles)}"
    )


def field_changes(changes: dict[str, Any], titles: dict[str, str]) -> list[str]:
    """Drift's and history's changed fields; a credential typed into a config reads ••••."""
    shown = mask_typed(changes)
    return [field_change(name, change or {}, titles) for name, change in shown.items()]


# ---- history ------------------------------------------------------------------------------


def moved_step(before: list[str], after: list[str]) -> tuple[str, int, int] | None:
    """The one step whose move explains a reordering (key, old and new position), if any."""
    common = [k for k in before if k in after]
    later = [k for k in after if k in common]
    candidates = []
    for key in common:
        if [k for k in common if k != key] == [k for k in later if k != key]:
            old, new = before.index(key) + 1, after.index(key) + 1
            candidates.append((abs(new - old), key, old, new))
    if not candidates:
        return None
    _distance, key, old, new = max(candidates)
    return key, old, new


def history_sentence(entry: HistoryEntry, titles: dict[str, str]) -> Sentence:
    who = entry.actor_name or ("Matterflow" if entry.actor_id is None else "A former member")
    detail = entry.detail or {}

    def title_of(key: str | None) -> str:
        return quoted(detail.get("title") or titles.get(key or "", key or "a step"))

    kind = entry.change_type
    if kind == "created":
        source = f"{detail.get('templateKey', 'a template')} v{detail.get('templateVersion', '?')}"
        return Sentence(f"{who} created this workflow from {source}")
    if kind == "step_added":
        return Sentence(
            f"{who} added the step {title_of(detail.get('key'))} at position {detail.get('order')}"
        )
    if kind == "step_removed":
        return Sentence(f"{who} removed the step {title_of(detail.get('key'))}")
    if kind == "step_reordered":
        return _reordered(who, detail, titles)
    if kind == "step_modified":
        key = detail.get("key")
        changes = detail.get("changes") or {}
        title = quoted(titles.get(key or "", (changes.get("title") or {}).get("to") or key))
        return Sentence(f"{who} changed the step {title}", field_changes(changes, titles))
    if kind == "migrated":
        moved = (
            f"version {detail.get('fromVersion', '?')} to version {detail.get('toVersion', '?')}"
        )
        return Sentence(
            f"{who} moved this workflow from {moved}", list(detail.get("changes") or [])
        )
    if kind == "metadata_changed":
        renamed = detail.get("title") or {}
        if renamed:
            return Sentence(
                f"{who} renamed the workflow from {quoted(renamed.get('from'))} "
                f"to {quoted(renamed.get('to'))}"
            )
        return Sentence(f"{who} changed the workflow's details", field_changes(detail, titles))
    return Sentence(f"{who} changed the workflow ({kind.replace('_', ' ')})")


def _reordered(who: str, detail: dict[str, Any], titles: dict[str, str]) -> Sentence:
    before, after = list(detail.get("from") or []), list(detail.get("to") or [])
    moved = moved_step(before, after)
    if moved:
        key, old, new = moved
        return Sentence(
            f"{who} moved the step {quoted(titles.get(key, key))} from position {old} to {new}"
        )
    order = ", ".join(f"{n}. {titles.get(k, k)}" for n, k in enumerate(after, start=1))
    return Sentence(f"{who} reordered the steps", [f"New order: {order}"])


# ---- drift --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftLine:
    kind: str  # added, removed, reordered, modified, metadata
    text: str
    details: list[str] = field(default_factory=list)


def drift_lines(view: DriftView) -> list[DriftLine]:
    drift, titles = view.report.drift, view.titles
    lines = [DriftLine("added", f"Added: {quoted(titles.get(k, k))}") for k in drift.steps_added]
    lines += [
        DriftLine("removed", f"Removed: {quoted(titles.get(k, k))}") for k in drift.steps_removed
    ]
    if drift.steps_reordered:
        order = ", ".join(titles.get(k, k) for k in drift.order_after)
        lines.append(DriftLine("reordered", "Steps reordered", [f"Now: {order}"]))
    lines += [
        DriftLine(
            "modified",
            f"Changed: {quoted(titles.get(change.key, change.key))}",
            field_changes(change.changes, titles),
        )
        for change in drift.steps_modified
    ]
    if drift.metadata_changed:
        lines.append(
            DriftLine(
                "metadata",
                "Workflow details changed",
                field_changes(drift.metadata_changes, titles),
            )
        )
    return lines
