"""The worker's render of a step's config with the firm's secrets in it, at call time.

Everywhere else a config keeps `{{ secrets.NAME }}` as written (engine/secret_refs.py),
so no stored config, attempt input, audit payload or export ever holds a value. Here the
step's source config is rendered again with the values, and the values revealed are
returned beside it: whatever text leaves the worker afterwards (an error, an output, a
log line) is masked with them first."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from webapp.adapters.cipher import CipherUnavailable
from webapp.engine.actions.automated import ActionFailed, AutomatedHandler
from webapp.engine.errors import DomainError
from webapp.engine.secret_refs import mask, names_in_value
from webapp.engine.templating import TemplatingError, render_value
from webapp.models import InstanceStep, WorkflowInstance
from webapp.services import secrets
from webapp.services.steps.conditions import raw_template, variables_for

MISSING = "The secret {name} is not set for this firm: an admin adds it under Admin → Secrets."


@dataclass(frozen=True)
class Resolved:
    config: dict[str, Any]
    revealed: tuple[str, ...] = ()


def resolve_config(
    step: InstanceStep, instance: WorkflowInstance, handler: AutomatedHandler
) -> Resolved:
    """The config the call is made with; ActionFailed (not retryable) when a secret it
    names is missing or cannot be decrypted."""
    config = step.action_config or {}
    source = raw_template(step)
    names = names_in_value(source.get("actionConfig")) if source else set()
    if source is None or not names:
        return Resolved(config)
    values = reveal_all(instance.org_id, names)
    try:
        rendered = render_value(
            source["actionConfig"], {**variables_for(instance), "secrets": values}
        )
        resolved = handler.validate_config(rendered)
    except (TemplatingError, DomainError) as error:
        detail = mask(str(error), values.values())
        raise ActionFailed(
            f"The configuration cannot be rendered with its secrets: {detail}"
        ) from None
    return Resolved(resolved, tuple(values.values()))


def reveal_all(org_id: int, names: set[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in sorted(names):
        try:
            value = secrets.reveal(org_id, name)
        except CipherUnavailable as error:
            raise ActionFailed(str(error)) from None
        if value is None:
            raise ActionFailed(MISSING.format(name=name))
        values[name] = value
    return values


# ---- log lines written during a call ------------------------------------------------------

_REVEALED: ContextVar[tuple[str, ...]] = ContextVar("revealed_secrets", default=())
_make_record = logging.getLogRecordFactory()


def _masking_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Every log record made while a call carries secrets (a library's debug line names
    the URL it requested) has them masked before any handler sees it."""
    record = _make_record(*args, **kwargs)
    revealed = _REVEALED.get()
    if revealed:
        record.msg, record.args = mask(record.getMessage(), revealed), None
    return record


logging.setLogRecordFactory(_masking_record)


@contextmanager
def masking_logs(revealed: tuple[str, ...]) -> Iterator[None]:
    token = _REVEALED.set(revealed)
    try:
        yield
    finally:
        _REVEALED.reset(token)
