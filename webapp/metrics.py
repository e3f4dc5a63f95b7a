"""/metrics: the counters and histograms the processes added to as they worked
(observability/metrics.py; under gunicorn summed over every process's files in
PROMETHEUS_MULTIPROC_DIR), and gauges of the database read at scrape time by a few
indexed queries: the outbox's depth and its oldest due job, dead letters, and the
workers' heartbeats. Nothing here reads the audit trail or the steps: a scrape costs the
same at a big firm's size as on a new install."""

import hmac
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Job
from webapp.observability import metrics
from webapp.services import outbox
from webapp.services.clock import now as clock_now
from webapp.services.heartbeats import workers_alive

OPEN_JOB_STATUSES = (outbox.PENDING, outbox.RUNNING)


def outbox_depth(now: datetime) -> dict[tuple[str, str], int]:
    """Open jobs by status and whether they are due: one range of ix_jobs_status_run_at_id."""
    due = Job.run_at <= now
    rows = db.session.execute(
        select(Job.status, func.count().filter(due), func.count().filter(~due))
        .where(Job.status.in_(OPEN_JOB_STATUSES))
        .group_by(Job.status)
    )
    depth = {(status, when): 0 for status in OPEN_JOB_STATUSES for when in ("due", "waiting")}
    for status, due_count, waiting_count in rows:
        depth[(status, "due")] = due_count
        depth[(status, "waiting")] = waiting_count
    return depth


def oldest_due_age(now: datetime) -> float:
    """Seconds the oldest due PENDING job has waited: the first entry of the index's range."""
    oldest = db.session.scalar(
        select(func.min(Job.run_at)).where(Job.status == outbox.PENDING, Job.run_at <= now)
    )
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # SQLite's aggregate skips the column type's conversion
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - oldest).total_seconds())


def dead_letters() -> int:
    return db.session.scalar(select(func.count()).where(Job.status == outbox.DEAD)) or 0


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Any]:
        now = clock_now()
        try:
            yield from self._gauges(now)
        finally:
            db.session.rollback()  # end the read: a scrape holds no snapshot or lock

    def _gauges(self, now: datetime) -> Iterator[Any]:
        depth = GaugeMetricFamily(
            "matterflow_outbox_jobs",
            "Open outbox jobs by status, due now or waiting for a later run_at.",
            labels=["status", "when"],
        )
        for (status, when), count in sorted(outbox_depth(now).items()):
            depth.add_metric([status, when], count)
        yield depth
        yield GaugeMetricFamily(
            "matterflow_outbox_oldest_due_seconds",
            "Seconds the oldest due PENDING job has been waiting (0: none is due).",
            value=oldest_due_age(now),
        )
        yield GaugeMetricFamily(
            "matterflow_dead_letters", "Jobs that gave up (DEAD).", value=dead_letters()
        )
        liveness = workers_alive(now, current_app.config["WORKER_HEARTBEAT_MAX_AGE"])
        yield GaugeMetricFamily(
            "matterflow_workers_alive",
            "Workers with a heartbeat within WORKER_HEARTBEAT_MAX_AGE.",
            value=liveness.alive,
        )
        if liveness.last_seen_seconds is not None:
            yield GaugeMetricFamily(
                "matterflow_worker_heartbeat_age_seconds",
                "Seconds since the newest worker heartbeat.",
                value=liveness.last_seen_seconds,
            )


def render_metrics() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if metrics.multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)  # every process's files, added up
    else:
        registry.register(_Counted())
    registry.register(DatabaseCollector())
    return generate_latest(registry)


class _Counted(Collector):
    """This process's counters and histograms (no PROMETHEUS_MULTIPROC_DIR)."""

    def collect(self) -> Iterator[Any]:
        yield from metrics.REGISTRY.collect()


def register_request_timing(app: Flask) -> None:
    """Time every request, first hook in and last out. The route is the URL rule
    (`/api/v1/steps/<int:step_id>/complete`), never the path, so ids add no series."""

    def started() -> None:
        g.metrics_started = time.perf_counter()

    def answered(response: Response) -> Response:
        begun = g.pop("metrics_started", None)
        if begun is not None:
            rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
            seconds = time.perf_counter() - begun
            metrics.request_answered(rule, request.method, response.status_code, seconds)
        return response

    app.before_request_funcs.setdefault(None, []).insert(0, started)
    app.after_request_funcs.setdefault(None, []).insert(0, answered)  # run in reverse


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
