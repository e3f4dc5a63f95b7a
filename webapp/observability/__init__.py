"""Seeing Matterflow run: OpenTelemetry spans (tracing.py), one log line per request and
per job with the request id (logging.py, context.py), and the worker's side of both
(jobs.py). docs/observability.md says how to switch each on."""

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask import Flask

from webapp.observability import context, tracing

P = ParamSpec("P")
R = TypeVar("R")


def register_observability(app: Flask) -> None:
    """After the extensions (tracing needs the database engine); the request hooks still
    go first, so a request refused early (too large, a bad CSRF token) is logged too."""
    from webapp.observability.logging import configure_logging, register_request_logging

    configure_logging(app)
    tracing.register_tracing(app)
    register_request_logging(app)


def observe(**found: Any) -> None:
    """What the code learnt (firm, matter, instance, step, action_type, event…): on the
    current span and on the log line of the request or job run."""
    context.annotate(**found)
    tracing.set_attributes(**found)


def traced(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A span around each call of a service function (tracing off: nothing)."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with tracing.span(name):
                return fn(*args, **kwargs)

        return wrapper

    return decorate
