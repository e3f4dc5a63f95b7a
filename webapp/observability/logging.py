"""Log lines: one per request and one per job run, each with the request id, the trace id
(tracing on), the person, the firm, matter, instance and step when known, the duration and
the outcome. JSON (python-json-logger) when LOG_FORMAT=json or when stderr is not a
terminal; plain readable lines in a terminal (`make run`).

Every line written while a request or a job runs carries its request id, whichever logger
wrote it: the handler's filter reads it from the context."""

import contextlib
import logging
import os
import sys
import time
from typing import IO, Any

from flask import Flask, Response, g, request
from pythonjsonlogger.json import JsonFormatter

from webapp.observability import context, tracing

REQUEST_HEADER = "X-Request-ID"
request_log = logging.getLogger("matterflow.request")
job_log = logging.getLogger("matterflow.job")

_STATE = "matterflow_observed"  # what `g` keeps between the request's hooks
_OURS = "matterflow_handler"  # marks the root handler this module installed

PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class ContextFilter(logging.Filter):
    """Stamps each record with the request id and trace id in hand (unless it has them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = context.request_id() or "-"
        if getattr(record, "trace_id", None) is None:
            found = tracing.trace_id()
            if found is not None:
                record.trace_id = found
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        ["levelname", "name", "message"],
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
    )


def make_handler(stream: IO[str], log_format: str) -> logging.Handler:
    """A handler writing `json` or `plain` lines, each stamped by ContextFilter."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter() if log_format == "json" else logging.Formatter(PLAIN))
    return handler


def log_format(environ: dict[str, str] | Any = os.environ, stream: IO[str] = sys.stderr) -> str:
    chosen = environ.get("LOG_FORMAT", "").strip().lower()
    if chosen in ("json", "plain"):
        return chosen
    return "plain" if stream.isatty() else "json"


def configure_logging(app: Flask) -> None:
    """The root logger writes to stderr in the chosen format, once per process. Tests
    leave the root logger to pytest."""
    if app.testing:
        return
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)  # the root handler writes its lines
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OURS, False):
            root.removeHandler(handler)
    chosen = log_format()
    handler = make_handler(sys.stderr, chosen)
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    if chosen == "json":
        # Our request line replaces the development server's access line.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)


# --- one line per request -------------------------------------------------------------------


def register_request_logging(app: Flask) -> None:
    # First of the app's hooks before the request and last after it (Flask runs the
    # after-request hooks in reverse): every other hook sees the request id, and the line
    # logs the status the client gets.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_request)
    app.after_request_funcs.setdefault(None, []).insert(0, _log_request)
    app.teardown_request(_end_request)


def _begin_request() -> None:
    request_id = context.sane_request_id(request.headers.get(REQUEST_HEADER))
    setattr(g, _STATE, (context.begin(request_id), request_id, time.perf_counter()))


def _log_request(response: Response) -> Response:
    state = g.get(_STATE)
    if state is None:  # refused before our first hook ran
        return response
    _tokens, request_id, started = state
    response.headers[REQUEST_HEADER] = request_id
    user = g.get("_login_user")  # only when the request loaded it: no query for a log line
    actor = user.id if user is not None and getattr(user, "is_authenticated", False) else None
    firm = getattr(user, "org_id", None) if actor is not None else None
    tracing.set_attributes(request_id=request_id, actor=actor, firm=firm)
    found = {"actor": actor, "firm": firm, **context.fields()}
    duration = (time.perf_counter() - started) * 1000
    request_log.info(
        "%s %s %s in %.1f ms",
        request.method,
        request.path,
        response.status_code,
        duration,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(duration, 2),
            **{key: value for key, value in found.items() if value is not None},
        },
    )
    return response


def _end_request(_error: BaseException | None) -> None:
    state = g.pop(_STATE, None)
    if state is not None:
        # ValueError: set in another context, so nothing of ours to undo here.
        with contextlib.suppress(ValueError):
            context.end(state[0])
