"""Secrets in action configs: written `{{ secrets.NAME }}`, resolved only by the worker
at call time, and shown masked everywhere else (and a credential typed into a config instead is shown
masked: `mask_typed`).

Outside the worker a template's `secrets` renders each reference back as written
(`REFERENCES`), so a rendered config keeps the reference and never holds a value. The
worker renders the step's source again with the values (services/automation.py) and
masks every value it revealed in whatever text leaves it (`mask`): an error message, a
response body that echoes a header, a log line."""

import re
from collections.abc import Iterable
from typing import Any

MASK = "••••"
NAME_PATTERN = r"^[A-Z][A-Z0-9_]*$"
NAME_RE = re.compile(NAME_PATTERN)
# `{{ secrets.NAME }}` and `{{ secrets["NAME"] }}`, as people write them.
REFERENCE_RE = re.compile(
    r"{{-?\s*secrets(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*[\"']([^\"']+)[\"']\s*\])"
)
WHOLE_REFERENCE_RE = re.compile(
    r"{{-?\s*secrets(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\s*[\"'][^\"']+[\"']\s*\])\s*-?}}"
)
# Header names whose value is a credential when typed into a config.
SENSITIVE_HEADER = re.compile(
    r"^(authorization|proxy-authorization|cookie)$|(?<!^idempotency)-key$|token", re.I
)


def reference(name: str) -> str:
    return "{{ secrets." + name + " }}"


class References(dict[str, str]):
    """The `secrets` a template sees outside the worker: each name renders as its own
    reference, so the rendered text still says which secret it needs."""

    def __missing__(self, name: str) -> str:
        return reference(name)


REFERENCES = References()


def names_in(source: str) -> set[str]:
    """The secret names a template text reads (`secrets.NAME`, `secrets["NAME"]`)."""
    found: set[str] = set()
    for match in REFERENCE_RE.finditer(source):
        found.add(match.group(1) or match.group(2))
    return found


def names_in_value(value: Any) -> set[str]:
    """Every secret name referenced by a string anywhere inside `value`."""
    if isinstance(value, str):
        return names_in(value)
    if isinstance(value, dict):
        return set().union(*(names_in_value(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(names_in_value(item) for item in value))
    return set()


def mask(value: Any, revealed: Iterable[str]) -> Any:
    """`value` (text, or dicts and lists of it) with every revealed secret replaced by
    MASK; the longest first, so a value containing a shorter one is masked whole."""
    secrets = sorted({s for s in revealed if s}, key=len, reverse=True)
    if not secrets:
        return value
    return _mask(value, secrets)


def _mask(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {key: _mask(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, secrets) for item in value]
    return value


def is_reference_only(text: str) -> bool:
    """A value that holds references and no typed credential ("Bearer {{ secrets.X }}"):
    shown as written."""
    leftover = WHOLE_REFERENCE_RE.sub("", text).strip()
    return bool(names_in(text)) and leftover.lower() in ("", "bearer", "basic", "token")


def mask_typed(value: Any) -> Any:
    """`value` as people and programs are shown it: a credential typed into a `headers`
    map anywhere inside (a core.http config, an attempt's inputs, a drift or history
    entry, an audit payload) reads MASK; a `{{ secrets.NAME }}` reference is shown as
    written. Stored values are left alone: this is for showing."""
    if isinstance(value, list):
        return [mask_typed(item) for item in value]
    if not isinstance(value, dict):
        return value
    shown = {key: mask_typed(item) for key, item in value.items()}
    headers = shown.get("headers")
    if isinstance(headers, dict):
        shown["headers"] = {
            name: MASK if _typed_credential(name, item) else item for name, item in headers.items()
        }
    return shown


def _typed_credential(name: Any, value: Any) -> bool:
    if not isinstance(value, str) or not value or not SENSITIVE_HEADER.search(str(name)):
        return False
    return not is_reference_only(value) and value != MASK
