"""When tracing is on, which log format is chosen, what a plain line looks like."""

import io
import json
import logging

import pytest
from flask import Flask

from webapp.observability import context, tracing
from webapp.observability.logging import log_format, make_handler


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "matterflow"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_on_only_when_an_exporter_or_endpoint_is_named(environ, on) -> None:
    assert tracing.wanted(environ) is on


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_format_is_json_unless_a_terminal_or_asked_for() -> None:
    assert log_format({}, io.StringIO()) == "json"
    assert log_format({}, _Terminal()) == "plain"
    assert log_format({"LOG_FORMAT": "json"}, _Terminal()) == "json"
    assert log_format({"LOG_FORMAT": "plain"}, io.StringIO()) == "plain"
    assert log_format({"LOG_FORMAT": "xml"}, _Terminal()) == "plain"


def _write(log_format: str, **extra: object) -> str:
    stream = io.StringIO()
    logger = logging.getLogger("matterflow.test-format")
    handler = make_handler(stream, log_format)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        with context.bound("rid-7"):
            logger.info("GET %s %s", "/inbox", 200, extra=extra)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_plain_line_reads_as_text_with_its_request_id() -> None:
    line = _write("plain")
    assert line.rstrip().endswith("INFO matterflow.test-format [rid-7] GET /inbox 200")
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_a_json_line_has_the_message_the_request_id_and_the_fields() -> None:
    line = json.loads(_write("json", status=200, step=5))
    assert line["message"] == "GET /inbox 200"
    assert (line["level"], line["logger"], line["request_id"]) == (
        "INFO",
        "matterflow.test-format",
        "rid-7",
    )
    assert (line["status"], line["step"]) == (200, 5)
    assert "time" in line


def test_a_span_in_an_app_without_tracing_does_nothing() -> None:
    with Flask(__name__).app_context(), tracing.span("perform", step=1) as current:
        assert current is None
        assert tracing.traceparent() is None and tracing.trace_id() is None
