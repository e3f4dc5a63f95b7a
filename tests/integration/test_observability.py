"""Tracing and structured logs (issue 17, points 1 and 2): one HTMX completion that makes an
automated step run is one trace from the request to the worker's job; every log line of
a request is JSON carrying its request id, which its audit rows carry too."""

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.integration.engine_support import by_key, make_firm, publish, reload, run_worker
from tests.integration.engine_support import start as start_workflow
from tests.integration.engine_support import step as step_body
from webapp.extensions import db
from webapp.models import Job, WorkflowEvent
from webapp.observability import tracing
from webapp.observability.logging import make_handler


@pytest.fixture
def spans(app: Flask) -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test's app, into memory; off again after."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(app, provider)
    try:
        yield exporter
    finally:
        tracing.uninstall(app)
        provider.shutdown()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the root logger writes, through the formatter production uses (LOG_FORMAT=json)."""
    stream = io.StringIO()
    handler = make_handler(stream, "json")
    root, ours = logging.getLogger(), logging.getLogger("matterflow")
    level = ours.level
    root.addHandler(handler)
    ours.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        ours.setLevel(level)


@pytest.fixture
def approval_then_echo(make_org: Any, make_user: Any, make_matter: Any, api_as: Any) -> Any:
    """A lawyer's approval, then an automated echo step; the approval is READY."""
    firm = make_firm(make_org, make_user, make_matter, api_as)
    steps = [
        step_body("approve", "APPROVAL_LAWYER", config={"message": "Go?"}, roleScope="LAWYER"),
        step_body("echo", dependsOn=["approve"]),
    ]
    instance = start_workflow(firm.api, publish(firm.api, "Traced", steps), firm.matter.id)
    run_worker()
    return firm, instance


def _complete(login_as: Any, firm: Any, step_id: int, **headers: str) -> Any:
    web = login_as(firm.lawyer)
    return web.post(
        f"/steps/{step_id}/complete", data={"approved": "true"}, htmx=True, headers=headers
    )


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    found = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        found.append(span)
    return found


def test_one_htmx_completion_is_one_trace_from_the_request_to_the_workers_job_when_tracing_is_on(
    approval_then_echo, login_as, spans
) -> None:
    firm, instance = approval_then_echo
    approve = by_key(instance, "approve")
    spans.clear()

    response = _complete(login_as, firm, approve["id"])
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert run_worker() == 1
    assert by_key(reload(firm.api, instance["id"]), "echo")["actionState"] == "COMPLETED"

    finished = spans.get_finished_spans()
    by_id = {span.context.span_id: span for span in finished}
    [request] = [s for s in finished if s.kind == SpanKind.SERVER and "/complete" in s.name]
    trace_id = request.context.trace_id
    under_request = [s for s in finished if request in _ancestors(s, by_id)]

    [perform] = [s for s in under_request if s.name == "perform"]
    assert perform.attributes["matterflow.step"] == approve["id"]
    assert perform.attributes["matterflow.instance"] == instance["id"]
    assert perform.attributes["matterflow.firm"] == firm.lawyer.org_id
    assert perform.attributes["matterflow.matter"] == firm.matter.id
    assert perform.attributes["matterflow.action_type"] == "APPROVAL_LAWYER"
    assert perform.attributes["matterflow.event"] == "complete"
    assert request.attributes["matterflow.actor"] == firm.lawyer.id

    sql = [s for s in under_request if s.kind == SpanKind.CLIENT and _is_sql(s)]
    assert any(perform in _ancestors(s, by_id) for s in sql), [s.name for s in sql]

    [job] = [s for s in under_request if s.name == "job step.run"]
    assert job.kind == SpanKind.CONSUMER
    assert job.parent.trace_id == trace_id
    [handler] = [s for s in finished if s.name == "handler run"]
    assert job in _ancestors(handler, by_id)
    assert handler.attributes["matterflow.action_type"] == "core.echo"
    assert handler.attributes["matterflow.step"] == by_key(instance, "echo")["id"]
    assert any(job in _ancestors(s, by_id) for s in sql), "the worker's SQL is under its job"
    # The worker's polling (claims, heartbeats, schedule ticks) makes no traces of its own.
    roots = [s for s in finished if s.parent is None and s.start_time > request.end_time]
    assert {s.kind for s in roots} == {SpanKind.SERVER}, [s.name for s in roots]
    # One trace: everything the completion caused, the worker's share included.
    caused = [perform, job, handler, *sql]
    assert {s.context.trace_id for s in caused} == {trace_id}


def _is_sql(span: ReadableSpan) -> bool:
    attributes = span.attributes or {}
    return "db.system" in attributes or "db.system.name" in attributes


def test_a_job_carries_the_request_id_and_no_traceparent_when_tracing_is_off(
    approval_then_echo, login_as
) -> None:
    firm, instance = approval_then_echo
    response = _complete(login_as, firm, by_key(instance, "approve")["id"])
    request_id = response.headers["X-Request-ID"]
    job = db.session.scalars(select(Job).order_by(Job.id.desc())).first()
    assert job.kind == "step.run"
    assert job.trace_context == {"requestId": request_id}
    assert tracing.traceparent() is None and tracing.trace_id() is None


def test_every_log_line_of_a_request_is_json_with_its_request_id_and_so_are_its_audit_rows(
    approval_then_echo, login_as, log_lines
) -> None:
    firm, instance = approval_then_echo
    approve, echo = by_key(instance, "approve"), by_key(instance, "echo")
    web = login_as(firm.lawyer)
    before = db.session.scalar(select(db.func.max(WorkflowEvent.id)))
    log_lines.seek(0)
    log_lines.truncate()

    response = web.post(
        f"/steps/{approve['id']}/complete",
        data={"approved": "true"},
        htmx=True,
        headers={"X-Request-ID": "req-42.abc"},
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-42.abc"

    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert lines, "the request wrote no log line"
    assert {line["request_id"] for line in lines} == {"req-42.abc"}
    [request_line] = [line for line in lines if line["logger"] == "matterflow.request"]
    assert request_line["status"] == 200
    assert request_line["method"] == "POST"
    assert request_line["path"] == f"/steps/{approve['id']}/complete"
    assert request_line["actor"] == firm.lawyer.id
    assert request_line["firm"] == firm.lawyer.org_id
    assert request_line["matter"] == firm.matter.id
    assert request_line["instance"] == instance["id"]
    assert request_line["step"] == approve["id"]
    assert request_line["event"] == "complete"
    assert request_line["duration_ms"] > 0
    assert "trace_id" not in request_line  # tracing is off

    rows = db.session.scalars(select(WorkflowEvent).where(WorkflowEvent.id > before)).all()
    assert {row.event_type for row in rows} >= {"step.complete"}
    assert {row.request_id for row in rows} == {"req-42.abc"}

    # The worker's run of the echo step it caused: a JSON line, and rows, with that id.
    log_lines.seek(0)
    log_lines.truncate()
    after_request = max(row.id for row in rows)
    run_worker()
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    [job_line] = [line for line in lines if line["logger"] == "matterflow.job"]
    assert job_line["request_id"] == "req-42.abc"
    assert (job_line["kind"], job_line["outcome"]) == ("step.run", "done")
    assert (job_line["step"], job_line["action_type"]) == (echo["id"], "core.echo")
    assert job_line["instance"] == instance["id"] and job_line["duration_ms"] > 0
    worker_rows = db.session.scalars(
        select(WorkflowEvent).where(WorkflowEvent.id > after_request)
    ).all()
    assert worker_rows and {row.request_id for row in worker_rows} == {"req-42.abc"}


@pytest.mark.parametrize(
    "offered", ["x" * 101, "has space", "<script>", 'a"quote', "semi;colon", "", "-dash"]
)
def test_an_unsafe_request_id_is_replaced_by_a_new_one(app, login_as, demo, offered) -> None:
    web = login_as(demo.user("LAWYER"))
    response = web.client.get("/inbox", headers={"X-Request-ID": offered})
    assert response.status_code == 200
    given = response.headers["X-Request-ID"]
    assert given != offered and len(given) == 32 and given.isalnum()


def test_each_request_without_an_id_gets_its_own(app, login_as, demo) -> None:
    web = login_as(demo.user("LAWYER"))
    first = web.client.get("/inbox").headers["X-Request-ID"]
    second = web.client.get("/api/v1/templates").headers["X-Request-ID"]
    assert first != second and len(first) == len(second) == 32


CALLER_TRACE, CALLER_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def test_a_request_that_carries_a_traceparent_joins_the_callers_trace(
    app, login_as, demo, spans
) -> None:
    web = login_as(demo.user("LAWYER"))
    spans.clear()
    response = web.client.get(
        "/inbox", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
    )
    assert response.status_code == 200

    [request] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert format(request.context.trace_id, "032x") == CALLER_TRACE
    assert format(request.parent.span_id, "016x") == CALLER_SPAN
    assert request.name == "GET /inbox"
    assert request.attributes["http.route"] == "/inbox"
    assert request.attributes["http.status_code"] == 200
    assert request.attributes["http.method"] == "GET"
    sql = [s for s in spans.get_finished_spans() if _is_sql(s)]
    assert sql and {s.parent.span_id for s in sql} == {request.context.span_id}
    # SQLite's BEGIN, which our begin hook issues, is not a span (PostgreSQL has none).
    assert not [s.name for s in sql if s.name.startswith("BEGIN")]


def test_a_request_without_a_traceparent_starts_a_trace_and_probes_make_none(
    app, login_as, demo, spans
) -> None:
    web = login_as(demo.user("LAWYER"))
    spans.clear()
    assert web.client.get("/health").status_code == 200
    assert web.client.get("/static/css/app.css").status_code == 200
    assert spans.get_finished_spans() == ()

    assert web.client.get("/api/v1/matters/999999").status_code == 404
    [request] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert request.parent is None
    assert request.name == "GET /api/v1/matters/<int:matter_id>"
    assert request.attributes["http.status_code"] == 404
    assert request.attributes["http.target"] == "/api/v1/matters/999999"


def test_a_failed_statement_is_an_error_span_that_shows_no_parameter(app, spans) -> None:
    with pytest.raises(DBAPIError):
        db.session.execute(text("SELECT * FROM no_such_table WHERE secret = :s"), {"s": "hunter2"})
    db.session.rollback()

    [failed] = [
        s
        for s in spans.get_finished_spans()
        if "no_such_table" in s.attributes.get("db.statement", "")
    ]
    assert failed.kind == SpanKind.CLIENT and failed.name.startswith("SELECT")
    assert failed.status.status_code == StatusCode.ERROR
    assert "hunter2" not in (failed.status.description or "")
    assert "hunter2" not in json.dumps(dict(failed.attributes))
    assert failed.attributes["db.system"] == db.engine.dialect.name
    # The database's name, never the path of a SQLite file.
    assert "/" not in failed.attributes["db.name"]
