"""The template document format (docs/dsl.md): its schema versions, the upgrade of an
older document to the current version, and JSON paths that name where a problem is.
Pure: a document in, a document or a path out."""

import re
from collections.abc import Callable, Iterable
from typing import Any

from webapp.engine.errors import Unprocessable

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)

Document = dict[str, Any]


def _from_version_1(document: Document) -> Document:
    """Version 2 added `triggers`; a version-1 document has none."""
    if document.get("triggers"):
        raise Unprocessable(
            "triggers are part of schemaVersion 2; a version-1 document has none.",
            [{"path": "triggers", "field": "triggers", "message": "Set schemaVersion to 2."}],
        )
    # A triggers value given anyway (empty, or not a list) is left for the schema to judge.
    return {"triggers": [], **document, "schemaVersion": 2}


# Each step turns a document of one version into the next; importing runs them in turn.
UPGRADES: dict[int, Callable[[Document], Document]] = {1: _from_version_1}


def upgrade(document: Document) -> Document:
    """The document in the current version. A schemaVersion that is not a whole number is
    left for the schema to refuse, with its path; an unknown one is refused here."""
    version = document.get("schemaVersion")
    if not isinstance(version, int) or isinstance(version, bool):
        return document
    if version not in READABLE_VERSIONS:
        readable = " and ".join(str(v) for v in READABLE_VERSIONS)
        message = f"schemaVersion {version} is not supported (this server reads {readable})."
        raise Unprocessable(
            message, [{"path": "schemaVersion", "field": "schemaVersion", "message": message}]
        )
    while version in UPGRADES:
        document = UPGRADES[version](document)
        version = document["schemaVersion"]
    return document


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(parts: Iterable[str | int]) -> str:
    """`("steps", 3, "actionConfig", "items")` -> `steps[3].actionConfig.items`; a key
    that is not a plain name is quoted: `headers["Idempotency-Key"]`; none is `$`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _NAME.match(part):
            text += f".{part}" if text else part
        else:
            text += '["' + part.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    return text or "$"


def dotted_parts(field: str) -> list[str | int]:
    """A problem's dotted field (`actionConfig.items.1`) as path parts; digits are
    list positions."""
    return [int(p) if p.isdigit() else p for p in field.split(".") if p and p != "(root)"]


def located(rows: Any, prefix: Iterable[str | int] = ()) -> Any:
    """Problem rows (`{step?, field, message}`) with their JSON path in the document
    added; rows about a step are under `steps[n]`. Anything else is returned as it is."""
    if not isinstance(rows, list):
        return rows
    out = []
    for row in rows:
        if not isinstance(row, dict):
            out.append(row)
            continue
        parts: list[str | int] = list(prefix)
        if isinstance(row.get("step"), int):
            parts += ["steps", row["step"]]
        parts += dotted_parts(str(row.get("field") or ""))
        out.append({**row, "path": row.get("path") or json_path(parts)})
    return out
