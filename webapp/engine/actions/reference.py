"""The action reference (docs/actions.md), written from the catalog so it cannot drift
from the handlers: `flask --app webapp actions-reference` writes it, and a test fails
when the committed file differs from what the command would write."""

import json
from typing import Any

from webapp.engine.actions.catalog import CATEGORY_LABELS, CatalogEntry, grouped

HEADER = """\
# Action reference

<!-- Generated from the action catalog by `flask --app webapp actions-reference`;
     edit the handlers in webapp/engine/actions/, not this file. -->

Every step of a workflow has an action type. The same descriptions are served by
`GET /api/v1/actions` (with each type's configuration as JSON Schema), and the
builder's action picker and settings are generated from them. How to add a type:
[adding-an-action-type.md](adding-an-action-type.md).

String values in a configuration are templates, rendered when the step becomes
ready (`{{ matter.reference }}`, `{{ context.client }}`, `{{ steps.intake.name }}`;
see [engine.md](engine.md#parameter-templating)); the checks below apply to the
rendered value.
"""


def action_reference() -> str:
    parts = [HEADER, _contents()]
    for category, entries in grouped():
        parts.append(f"## {CATEGORY_LABELS[category]}\n")
        parts.extend(_entry(entry) for entry in entries)
    return "\n".join(parts).rstrip() + "\n"


def _contents() -> str:
    rows = ["| category | action types |", "|---|---|"]
    for category, entries in grouped():
        names = ", ".join(f"[{e.label}](#{_anchor(e)})" for e in entries)
        rows.append(f"| {CATEGORY_LABELS[category]} (`{category}`) | {names} |")
    return "\n".join(rows) + "\n"


def _anchor(entry: CatalogEntry) -> str:
    """GitHub's anchor of the entry's heading: lower case, punctuation dropped."""
    text = f"{entry.label} {entry.type}".lower()
    return "".join(c for c in text.replace(" ", "-") if c.isalnum() or c in "-_")


def _entry(entry: CatalogEntry) -> str:
    who = "run by the worker" if entry.automated else "done by " + _listed(entry.roles)
    lines = [
        f"### {entry.label} `{entry.type}`\n",
        f"{entry.description}\n",
        f"Category `{entry.category}`; {who}.\n",
        _fields(entry.config_schema),
        "Example `actionConfig`:\n",
        "```json",
        json.dumps(entry.example, indent=2, ensure_ascii=False),
        "```\n",
    ]
    return "\n".join(lines)


def _listed(roles: tuple[str, ...]) -> str:
    names = [role.title() for role in roles]
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def _fields(schema: dict[str, Any]) -> str:
    properties = schema.get("properties", {})
    if not properties:
        return "No configuration.\n"
    required = set(schema.get("required", []))
    rows = ["| field | type | required | default | meaning |", "|---|---|---|---|---|"]
    for name, node in properties.items():
        meaning = node.get("description", "")
        if node.get("deprecated"):
            meaning = f"*Deprecated.* {meaning}"
        default = f"`{json.dumps(node['default'])}`" if "default" in node else ""
        yes = "yes" if name in required else ""
        rows.append(f"| `{name}` | {_type(node)} | {yes} | {default} | {_cell(meaning)} |")
    return "\n".join(rows) + "\n"


def _type(node: dict[str, Any]) -> str:
    """A property's JSON Schema in a few words: `string`, `list of string`, `one of …`."""
    if "anyOf" in node:
        options = [_type(option) for option in node["anyOf"] if option.get("type") != "null"]
        return " or ".join(options)
    if "enum" in node:
        return "one of " + ", ".join(f"`{value}`" for value in node["enum"])
    kind = node.get("type", "any value")
    if kind == "array":
        return f"list of {_type(node.get('items') or {})}"
    if kind == "object":
        return "object"
    limits = [
        f"{label} {node[key]}"
        for key, label in (
            ("minLength", "min length"),
            ("maxLength", "max length"),
            ("exclusiveMinimum", ">"),
            ("minimum", "≥"),
            ("maximum", "≤"),
        )
        if key in node
    ]
    if "pattern" in node:
        limits.append(f"pattern `{node['pattern']}`")
    text = str(kind)
    return f"{text} ({_cell(', '.join(limits))})" if limits else text


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")
