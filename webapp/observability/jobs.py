"""The worker's side: a span and a log line for each job run, continuing the request that
enqueued the job (its stored trace context: the W3C traceparent and the request id)."""

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from webapp.observability import context, metrics, tracing
from webapp.observability.logging import job_log

TRACEPARENT, REQUEST_ID = "traceparent", "requestId"


def trace_context() -> dict[str, str] | None:
    """What a job enqueued now carries: the current traceparent (tracing on) and request
    id. None outside both (a schedule's tick): the worker then makes a request id."""
    found = {}
    request_id = context.request_id()
    if request_id is not None:
        found[REQUEST_ID] = request_id
    traceparent = tracing.traceparent()
    if traceparent is not None:
        found[TRACEPARENT] = traceparent
    return found or None


@dataclass
class Outcome:
    """How a job run ended, for its log line: `done` unless the worker says otherwise."""

    result: str = "done"


class _Job:
    """What the worker's Claimed is, as far as this module reads it."""

    id: int
    kind: str
    instance_id: int | None
    trace_context: dict[str, Any] | None


@contextmanager
def job_run(jobs: Sequence[Any], name: str | None = None) -> Iterator[Outcome]:
    """Around the run of one job, or of a group of one instance's step runs that share a
    transaction. One job: its span is a child of the request that enqueued it and its
    audit rows carry that request's id. A group: the span links each job's request; each
    visit then joins its own trace (`visiting`)."""
    first = jobs[0]
    origin = first.trace_context or {}
    request_id = origin.get(REQUEST_ID) or context.new_request_id()
    single = len(jobs) == 1
    outcome = Outcome()
    started = time.perf_counter()
    with (
        context.bound(request_id),
        tracing.span(
            name or f"job {first.kind}",
            parent=origin.get(TRACEPARENT) if single else None,
            links=() if single else [(job.trace_context or {}).get(TRACEPARENT) for job in jobs],
            job_id=first.id if single else None,
            job_kind=first.kind,
            jobs=len(jobs),
            instance=first.instance_id,
        ),
    ):
        try:
            yield outcome
        except BaseException as error:
            outcome.result = f"error: {type(error).__name__}"
            tracing.record_failure(error)
            raise
        finally:
            _log_jobs(jobs, outcome, (time.perf_counter() - started) * 1000)
            if name is None:  # a named run (a step run's call) goes on one already counted
                for job in jobs:
                    metrics.job_ran(job.kind, outcome.result)


def _log_jobs(jobs: Sequence[Any], outcome: Outcome, duration: float) -> None:
    found = context.fields()
    for job in jobs:
        origin = (job.trace_context or {}).get(REQUEST_ID)
        job_log.info(
            "job %s %s %s in %.1f ms",
            job.id,
            job.kind,
            outcome.result,
            duration,
            extra={
                **found,
                "job_id": job.id,
                "kind": job.kind,
                "instance": job.instance_id,
                "outcome": outcome.result,
                "duration_ms": round(duration, 2),
                "request_id": origin or context.request_id(),
                "jobs_together": len(jobs),
            },
        )


@contextmanager
def visiting(stored: dict[str, Any] | None, **attributes: Any) -> Iterator[None]:
    """One visit of a group's shared transaction: its audit rows carry the request id of
    the request that enqueued it, and its span joins that request's trace."""
    origin = stored or {}
    parent = origin.get(TRACEPARENT)
    if parent is not None and parent[3:35] == tracing.trace_id():
        parent = None  # already under it: a child of the current span
    request_id = origin.get(REQUEST_ID)
    with context.using_request_id(request_id), tracing.span("step visit", parent, **attributes):
        yield
