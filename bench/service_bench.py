"""(b) the cost of one `services.steps.perform` call, in process (no HTTP), in
instances of 5, 50 and 500 steps. Each call completes a READY checklist step whose
successor then becomes READY, in a fresh app context, as a request would."""

import math
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from bench import seed
from bench.sqlcount import StatementLog, counting
from bench.stats import Summary, summarize
from webapp.extensions import db
from webapp.models import User
from webapp.services import notifications
from webapp.services.steps import Complete, perform

SIZES = (5, 50, 500)
WARMUP_CALLS = 3
MIN_CALLS, MAX_CALLS = 5, 100  # per run; between them, as many as fit the time budget


@dataclass
class SizeResult:
    steps: int
    run_medians_us: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    sql_us: list[float] = field(default_factory=list)  # per call: time inside the driver
    # per call: time writing the in-app notifications of the step that became READY
    notify_us: list[float] = field(default_factory=list)
    verbs: dict[str, int] = field(default_factory=dict)
    calls_per_run: int = 0

    @property
    def micros(self) -> Summary:
        return summarize(self.run_medians_us)

    @property
    def statements_per_call(self) -> float:
        return statistics.median(self.statements) if self.statements else math.nan

    @property
    def sql_us_per_call(self) -> float:
        return statistics.median(self.sql_us) if self.sql_us else math.nan

    @property
    def notify_share(self) -> float:
        """The notifications' part of a call, in % (medians of the same calls)."""
        if not self.notify_us or not self.run_medians_us:
            return math.nan
        return 100 * statistics.median(self.notify_us) / self.micros.median

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "calls_per_run": self.calls_per_run,
            "microseconds_per_call": self.micros.as_dict(),
            "sql_statements_per_call": self.statements_per_call,
            "microseconds_in_sql_per_call": self.sql_us_per_call,
            "microseconds_writing_notifications_per_call": (
                statistics.median(self.notify_us) if self.notify_us else math.nan
            ),
            "notifications_percent_of_call": self.notify_share,
            "sql_statements_by_verb": self.verbs,
        }


@dataclass
class ServiceResult:
    database: str
    sizes: list[SizeResult]

    @property
    def ratio(self) -> float:
        by_steps = {s.steps: s.micros.median for s in self.sizes}
        return by_steps[max(by_steps)] / by_steps[min(by_steps)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "sizes": [s.as_dict() for s in self.sizes],
            "ratio_largest_to_smallest": self.ratio,
        }


def step_queue(app: Flask, firm: seed.Firm, steps: int, calls: int) -> list[int]:
    """Step ids to complete in order, never an instance's last step (completing that one
    also finishes the instance, which is a different, rarer transition)."""
    per_instance = steps - 1
    with app.app_context():
        template_id = seed.published_template(firm, f"Size {steps}", seed.checklist_chain(steps))
        instances = seed.start_instances(firm, template_id, math.ceil(calls / per_instance))
        seed.refresh_statistics()
        chains = seed.open_chains(instances)
        db.session.remove()
    return [step for chain in chains for step in chain[:per_instance]][:calls]


class NotifyClock:
    """Time spent in notifications.step_ready (its one INSERT included) during a call."""

    def __init__(self) -> None:
        self.seconds = 0.0


@contextmanager
def timing_notifications() -> Iterator[NotifyClock]:
    spent = NotifyClock()
    original = notifications.step_ready

    def timed(*args: Any, **kwargs: Any) -> None:
        began = time.perf_counter()
        try:
            original(*args, **kwargs)
        finally:
            spent.seconds += time.perf_counter() - began

    notifications.step_ready = timed  # type: ignore[assignment]  # the same signature, timed
    try:
        yield spent
    finally:
        notifications.step_ready = original  # type: ignore[assignment]  # put back as it was


def timed_call(app: Flask, user_id: int, step_id: int) -> tuple[float, StatementLog, float]:
    """Microseconds of the call, its statements, and the microseconds of it spent writing
    the notifications."""
    with app.app_context():
        user = db.session.get(User, user_id)  # what the request's auth has done already
        with counting(db.engine) as log, timing_notifications() as spent:
            began = time.perf_counter()
            perform(user, step_id, Complete(seed.COMPLETE_PAYLOAD))
            elapsed = time.perf_counter() - began
        db.session.remove()
    return elapsed * 1e6, log, spent.seconds * 1e6


def bench_size(
    app: Flask, firm: seed.Firm, steps: int, runs: int, budget_seconds: float
) -> SizeResult:
    """Calls per run fit the budget: a slow size still finishes in seconds, a fast one
    gets up to MAX_CALLS samples per run."""
    result = SizeResult(steps)
    queue = step_queue(app, firm, steps, WARMUP_CALLS + runs * MAX_CALLS)
    warm = [timed_call(app, firm.lawyer_id, step_id)[0] for step_id in queue[:WARMUP_CALLS]]
    per_call = statistics.median(warm) / 1e6
    calls = max(MIN_CALLS, min(MAX_CALLS, int(budget_seconds / runs / per_call)))
    queue = queue[WARMUP_CALLS:]
    for run in range(runs):
        timings = []
        for step_id in queue[run * calls : (run + 1) * calls]:
            micros, log, notify_micros = timed_call(app, firm.lawyer_id, step_id)
            timings.append(micros)
            result.notify_us.append(notify_micros)
            result.statements.append(len(log))
            result.sql_us.append(log.seconds * 1e6)
            result.verbs = log.by_verb()
        result.run_medians_us.append(statistics.median(timings))
    result.calls_per_run = calls
    return result


def bench_service(
    app: Flask, firm: seed.Firm, label: str, runs: int, budget_seconds: float
) -> ServiceResult:
    return ServiceResult(
        label, [bench_size(app, firm, steps, runs, budget_seconds) for steps in SIZES]
    )
