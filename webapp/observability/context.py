"""What a log line and a span say about the work in hand: the request id, and the firm,
matter, instance and step the code learnt about on the way (`annotate`).

Kept in context variables, not in Flask's `g`, so the worker's job runs (no request) and
the request's threads read them the same way."""

import contextvars
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# A request id a caller sends is kept when it is short and plain (it goes into log lines,
# response headers and the audit rows' 100-character column); otherwise one is made.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,99}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "matterflow_request_id", default=None
)
_fields: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "matterflow_log_fields", default=None
)


def sane_request_id(offered: str | None) -> str:
    """The caller's id when it is sane, else a new one."""
    if offered and _SANE_REQUEST_ID.fullmatch(offered):
        return offered
    return new_request_id()


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id() -> str | None:
    """The id of the request (or of the job run) in hand; None outside both."""
    return _request_id.get()


def fields() -> dict[str, Any]:
    """What `annotate` learnt so far in this request or job run."""
    return dict(_fields.get() or {})


@contextmanager
def bound(request_id: str) -> Iterator[dict[str, Any]]:
    """Within: the request id and a fresh set of fields; the previous ones after."""
    found: dict[str, Any] = {}
    id_token = _request_id.set(request_id)
    fields_token = _fields.set(found)
    try:
        yield found
    finally:
        _fields.reset(fields_token)
        _request_id.reset(id_token)


def begin(request_id: str) -> tuple[contextvars.Token[str | None], contextvars.Token[Any]]:
    """`bound` for a request, whose start and end are two separate hooks."""
    return _request_id.set(request_id), _fields.set({})


def end(tokens: tuple[contextvars.Token[str | None], contextvars.Token[Any]]) -> None:
    id_token, fields_token = tokens
    _fields.reset(fields_token)
    _request_id.reset(id_token)


def annotate(**found: Any) -> None:
    """Remember what is known (firm, matter, instance, step…) for the log line of this
    request or job run. Outside both it is dropped. None values are skipped."""
    current = _fields.get()
    if current is not None:
        current.update((key, value) for key, value in found.items() if value is not None)


@contextmanager
def using_request_id(request_id: str | None) -> Iterator[None]:
    """Within: audit rows carry this request id (None: the one in hand stays)."""
    if request_id is None:
        yield
        return
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)
