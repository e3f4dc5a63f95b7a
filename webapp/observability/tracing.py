"""OpenTelemetry spans: Flask requests, SQL statements, outgoing HTTP, and our own around
the step door (`perform`), each handler call and each job the worker runs.

Off unless the standard variables ask for it (`wanted`): then no SDK is installed, nothing
is instrumented, `span()` hands back a shared do-nothing context and a job carries no trace
context. On, a job enqueued while a span is current stores its W3C `traceparent` (the
outbox's `trace_context` column) and the worker's span for that job continues the trace,
a child of the request that enqueued it."""

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from flask import Flask, current_app
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, Tracer

EXTENSION = "matterflow.tracer"
INSTRUMENTS = "matterflow.instruments"
TRACER_NAME = "matterflow"
# Prefix of our own span attributes.
PREFIX = "matterflow."

_NOTHING: AbstractContextManager[None] = nullcontext()


# --- switching it on ----------------------------------------------------------------------


def wanted(environ: Mapping[str, str]) -> bool:
    """On when an exporter is named (`OTEL_TRACES_EXPORTER`, not `none`) or an OTLP
    endpoint is given; `OTEL_SDK_DISABLED=true` turns it off whatever else is set."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


_process_provider: Any = None


def provider_from_environment(environ: Mapping[str, str] = os.environ) -> Any:
    """The process's SDK tracer provider, made once: the resource, the sampler and the
    batch processor read their own `OTEL_*` variables (OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_*)."""
    global _process_provider
    if _process_provider is None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        defaults = {} if environ.get("OTEL_SERVICE_NAME") else {"service.name": "matterflow"}
        provider = TracerProvider(resource=Resource.create(defaults))
        provider.add_span_processor(BatchSpanProcessor(_exporter(environ)))
        trace.set_tracer_provider(provider)
        _process_provider = provider
    return _process_provider


def _exporter(environ: Mapping[str, str]) -> Any:
    """`otlp` (the default: OTLP over HTTP, set by OTEL_EXPORTER_OTLP_*), `console`, or
    `drop` (spans are made and batched, then dropped: what the benchmark measures)."""
    names = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    name = names.split(",")[0].strip()
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "drop":
        return DroppingExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class DroppingExporter:
    """A span exporter that sends nothing anywhere."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def install(app: Flask, provider: Any) -> None:
    """Trace this app's requests and SQL, and outgoing HTTP, into `provider`."""
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    from webapp.extensions import db
    from webapp.observability.instruments import RequestSpans, StatementSpans

    tracer = provider.get_tracer(TRACER_NAME)
    app.extensions[EXTENSION] = tracer
    with app.app_context():
        instruments: list[RequestSpans | StatementSpans] = [
            RequestSpans(app, tracer),
            StatementSpans(db.engine, tracer),
        ]
    for instrument in instruments:
        instrument.install()
    app.extensions[INSTRUMENTS] = instruments
    requests_instrumentor = RequestsInstrumentor()
    if requests_instrumentor.is_instrumented_by_opentelemetry:
        requests_instrumentor.uninstrument()  # a test's provider replaces the last one
    requests_instrumentor.instrument(tracer_provider=provider)


def uninstall(app: Flask) -> None:
    """Undo `install` (tests switch tracing on for one test)."""
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    app.extensions.pop(EXTENSION, None)
    for instrument in app.extensions.pop(INSTRUMENTS, []):
        instrument.uninstall()
    requests_instrumentor = RequestsInstrumentor()
    if requests_instrumentor.is_instrumented_by_opentelemetry:
        requests_instrumentor.uninstrument()


def register_tracing(app: Flask) -> None:
    on = app.config.get("TRACING")
    if on is None:
        on = wanted(os.environ)
    if on:
        install(app, provider_from_environment())


# --- our own spans --------------------------------------------------------------------------


def _tracer() -> Tracer | None:
    return current_app.extensions.get(EXTENSION)


def span(
    name: str,
    parent: str | None = None,
    links: Sequence[str | None] = (),
    **attributes: Any,
) -> AbstractContextManager[Any]:
    """A span around a block, a child of the current one, or of `parent` (a
    traceparent stored with a job). Attributes that are None are left out; each is
    prefixed `matterflow.`. Tracing off: a shared context that does nothing."""
    tracer = _tracer()
    if tracer is None:
        return _NOTHING
    return _span(tracer, name, parent, links, attributes)


@contextmanager
def _span(
    tracer: Tracer,
    name: str,
    parent: str | None,
    links: Sequence[str | None],
    attributes: dict[str, Any],
) -> Iterator[Any]:
    context = extract({"traceparent": parent}) if parent else None
    kind = SpanKind.CONSUMER if parent else SpanKind.INTERNAL
    linked = [Link(_span_context(link)) for link in links if link]
    with tracer.start_as_current_span(
        name, context=context, kind=kind, links=linked, attributes=_prefixed(attributes)
    ) as current:
        yield current


def _span_context(traceparent: str) -> Any:
    return trace.get_current_span(extract({"traceparent": traceparent})).get_span_context()


def _prefixed(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {PREFIX + key: value for key, value in attributes.items() if value is not None}


def untraced() -> AbstractContextManager[Any]:
    """Within: no spans from the instrumentations (the worker's polling)."""
    if _tracer() is None:
        return _NOTHING
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    return suppress_instrumentation()


def set_attributes(**attributes: Any) -> None:
    """Add attributes to the current span (the request's, perform's, the job's)."""
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes(_prefixed(attributes))


def record_failure(error: BaseException) -> None:
    current = trace.get_current_span()
    if current.is_recording():
        current.record_exception(error)
        current.set_status(Status(StatusCode.ERROR, str(error)[:200]))


def traceparent() -> str | None:
    """The W3C traceparent of the current span, to store with a job; None when no span is
    current (tracing off, or work outside any trace)."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    inject(carrier, context=otel_context.get_current())
    return carrier.get("traceparent")


def trace_id() -> str | None:
    """The current trace's id in hex, for log lines; None when none is current."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None
