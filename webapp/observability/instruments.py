"""The spans of requests and SQL statements, with the attributes of OpenTelemetry's HTTP
and database conventions.

Ours rather than opentelemetry-instrumentation-flask's and -sqlalchemy's: those build their
attributes anew on every request and statement (the WSGI environ walked, the engine's URL
parsed, each attribute set apart), and cost more in bench (a), where a transition runs a
dozen statements (docs/observability.md, "What it costs"). Here what does not change is
worked out once, and a span is made in one call with its attributes. Only built when
tracing is on."""

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, has_request_context, request
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from sqlalchemy import event
from sqlalchemy.engine import Engine

# Requests whose spans say nothing an operator needs.
UNTRACED_PATHS = ("/static/", "/health", "/metrics")
# The W3C headers a caller's trace arrives in, as WSGI names them.
PROPAGATED = {"traceparent": "HTTP_TRACEPARENT", "tracestate": "HTTP_TRACESTATE"}

StartResponse = Callable[..., Any]


class RequestSpans:
    """A SERVER span around each request, a child of the caller's trace when the request
    carries a `traceparent`, named after the route (`POST /steps/<int:step_id>/complete`)."""

    def __init__(self, app: Flask, tracer: Tracer) -> None:
        self.app = app
        self.inner = app.wsgi_app
        self.tracer = tracer

    def install(self) -> None:
        # Flask's documented way to add WSGI middleware: wrap `app.wsgi_app`.
        self.app.wsgi_app = self  # type: ignore[method-assign]  # a callable, as Flask's docs do

    def uninstall(self) -> None:
        self.app.wsgi_app = self.inner  # type: ignore[method-assign]  # Flask's own method back

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(UNTRACED_PATHS):
            return self.inner(environ, start_response)
        carrier = {name: environ[key] for name, key in PROPAGATED.items() if key in environ}
        parent = extract(carrier) if carrier else None
        method = environ.get("REQUEST_METHOD", "GET")
        current = self.tracer.start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.method": method,
                "http.scheme": environ.get("wsgi.url_scheme", "http"),
                "http.target": path,
                "http.user_agent": environ.get("HTTP_USER_AGENT", ""),
            },
        )
        token = otel_context.attach(trace.set_span_in_context(current, parent))
        try:
            return self.inner(environ, _answered(current, start_response))
        except BaseException as error:
            current.record_exception(error)
            current.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            otel_context.detach(token)
            current.end()


def _answered(current: Any, start_response: StartResponse) -> StartResponse:
    """`start_response`, noting the status and the route on the span on the way (Flask
    calls it while the request context still stands)."""

    def started(status: str, headers: Any, exc_info: Any = None) -> Any:
        code = int(status.split(" ", 1)[0])
        current.set_attribute("http.status_code", code)
        rule = request.url_rule if has_request_context() else None
        if rule is not None:
            current.update_name(f"{request.method} {rule.rule}")
            current.set_attribute("http.route", rule.rule)
        if code >= 500:
            current.set_status(Status(StatusCode.ERROR))
        return start_response(status, headers, exc_info)

    return started


class StatementSpans:
    """A CLIENT span per SQL statement (db.system, db.name, db.user, db.statement,
    net.peer.*), a child of whatever span is current; none while instrumentation is
    suppressed (the worker's polling).

    None for SQLite's BEGIN and BEGIN IMMEDIATE, which our begin hook issues where
    PostgreSQL's driver issues none: two of a transition's thirteen statements, and the
    wait for a write lies in the writer lock taken before them, not in the statement."""

    EVENTS = ("before_cursor_execute", "after_cursor_execute", "handle_error")

    def __init__(self, engine: Engine, tracer: Tracer) -> None:
        self.engine = engine
        self.tracer = tracer
        url = engine.url
        database = url.database.rsplit("/", 1)[-1] if url.database else None
        fixed = {
            "db.system": engine.dialect.name,
            "db.name": database,
            "db.user": url.username,
            "net.peer.name": url.host,
            "net.peer.port": url.port,
        }
        self.fixed = {key: value for key, value in fixed.items() if value}
        self.suffix = f" {database}" if database else ""

    def install(self) -> None:
        for name, listener in zip(self.EVENTS, self._listeners(), strict=True):
            event.listen(self.engine, name, listener)

    def uninstall(self) -> None:
        for name, listener in zip(self.EVENTS, self._listeners(), strict=True):
            event.remove(self.engine, name, listener)

    def _listeners(self) -> tuple[Callable[..., None], ...]:
        return (self.before, self.after, self.failed)

    def before(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, *_: Any
    ) -> None:
        if context is None or statement.startswith("BEGIN") or not is_instrumentation_enabled():
            return
        words = statement.split(None, 1)
        context.matterflow_span = self.tracer.start_span(
            (words[0] if words else "SQL") + self.suffix,
            kind=SpanKind.CLIENT,
            attributes={**self.fixed, "db.statement": statement},
        )

    def after(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, *_: Any
    ) -> None:
        current = getattr(context, "matterflow_span", None)
        if current is not None:
            current.end()

    def failed(self, error: Any) -> None:
        current = getattr(error.execution_context, "matterflow_span", None)
        if current is not None:
            current.set_status(Status(StatusCode.ERROR, type(error.original_exception).__name__))
            current.end()
