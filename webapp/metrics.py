"""Prometheus metrics, read from the database at scrape time. Counting the append-only
audit trail rather than in-process counters keeps the figures right with many gunicorn
workers and worker processes, and across restarts."""

import hmac
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import InstanceStep, Job, WorkflowEvent, WorkflowInstance

OUTCOME_EVENTS = {
    "step.complete": "completed",
    "step.fail": "failed",
    "step.skip": "skipped",
    "step.bypass": "skipped",
}
# Seconds: a minute, an hour, a working day, a week, a month.
CYCLE_BUCKETS = (60.0, 3600.0, 8 * 3600.0, 7 * 86400.0, 30 * 86400.0)


def step_outcomes() -> dict[tuple[str, str], int]:
    rows = db.session.execute(
        select(WorkflowEvent.event_type, InstanceStep.action_type, func.count())
        .outerjoin(InstanceStep, InstanceStep.id == WorkflowEvent.step_id)
        .where(WorkflowEvent.event_type.in_(OUTCOME_EVENTS))
        .group_by(WorkflowEvent.event_type, InstanceStep.action_type)
    )
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for event_type, action_type, count in rows:
        counts[(action_type or "removed", OUTCOME_EVENTS[event_type])] += count
    return counts


def cycle_times() -> dict[str, list[float]]:
    """Seconds from start to completion of every completed step, by action type."""
    rows = db.session.execute(
        select(InstanceStep.action_type, InstanceStep.started_at, InstanceStep.completed_at).where(
            InstanceStep.action_state == "COMPLETED",
            InstanceStep.started_at.is_not(None),
            InstanceStep.completed_at.is_not(None),
        )
    )
    durations: dict[str, list[float]] = defaultdict(list)
    for action_type, started, completed in rows:
        if started is None or completed is None:  # the query keeps only finished steps
            continue
        durations[action_type].append(max(0.0, (completed - started).total_seconds()))
    return durations


def histogram_buckets(values: list[float]) -> list[tuple[str, float]]:
    buckets = [(str(bound), float(sum(v <= bound for v in values))) for bound in CYCLE_BUCKETS]
    return [*buckets, ("+Inf", float(len(values)))]


def counts_by(column: Any) -> list[tuple[str, int]]:
    return [
        (status, count)
        for status, count in db.session.execute(select(column, func.count()).group_by(column))
    ]


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Any]:
        steps = CounterMetricFamily(
            "matterflow_steps",
            "Steps finished, by action type and outcome.",
            labels=["action_type", "outcome"],
        )
        for (action_type, outcome), count in sorted(step_outcomes().items()):
            steps.add_metric([action_type, outcome], count)
        yield steps
        cycle = HistogramMetricFamily(
            "matterflow_step_cycle_seconds",
            "Time from a step's start to its completion, by action type.",
            labels=["action_type"],
        )
        for action_type, values in sorted(cycle_times().items()):
            cycle.add_metric([action_type], histogram_buckets(values), sum_value=sum(values))
        yield cycle
        yield self._gauge(
            "matterflow_instances", "Workflow instances by status.", WorkflowInstance.status
        )
        yield self._gauge(
            "matterflow_jobs", "Outbox jobs by status (DEAD: dead letters).", Job.status
        )

    def _gauge(self, name: str, documentation: str, column: Any) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(name, documentation, labels=["status"])
        for status, count in sorted(counts_by(column)):
            gauge.add_metric([status], count)
        return gauge


def render_metrics() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return generate_latest(registry)


def refusal(authorization: str) -> Response | None:
    """Why a scrape is refused, or None: the figures are the whole installation's, so
    only a scraper holding METRICS_TOKEN reads them. Without the setting every scrape is
    refused (403): an unset token must never mean an open page."""
    expected = current_app.config["METRICS_TOKEN"]
    if not expected:
        return Response("Metrics are off: set METRICS_TOKEN on the server.\n", 403)
    given = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return Response(
            "Send Authorization: Bearer <METRICS_TOKEN>.\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return None
