"""(a) step transitions per second and p99 latency through the HTTP API, and the bare
Flask + SQLAlchemy baseline under the same server and load."""

import math
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, text

from bench import baseline, seed
from bench.databases import Database, server_environment
from bench.loadrun import Load, RunResult, run_load
from bench.server import gunicorn
from bench.stats import Summary, summarize
from webapp.extensions import db

CHAIN_STEPS = 10  # a realistic template: ten checklist steps, one after another
WARMUP_SECONDS = 1.5
WARMUP_RATE = 800  # transitions per second the warm-up's pool allows for
MIN_RATE = 300  # the least rate a timed run's pool is sized for
# The engine again with tracing on: the SDK, a batch processor and an exporter that drops
# the spans (webapp/observability/tracing.py), so the figure is the cost of making spans.
TRACED, SAMPLED = "traced", "traced10"
TRACING_ON = {"OTEL_TRACES_EXPORTER": "drop", "OTEL_SERVICE_NAME": "matterflow-bench"}
# And with one trace in ten kept, as docs/observability.md advises where the cost matters.
SAMPLED_ONE_IN_TEN = {
    **TRACING_ON,
    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
    "OTEL_TRACES_SAMPLER_ARG": "0.1",
}
BACKENDS = (
    "SELECT pid FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@dataclass
class HttpResult:
    database: str
    app: str  # "engine", "traced" (the engine with tracing on) or "baseline"
    runs: list[RunResult]

    @property
    def rate(self) -> Summary:
        return summarize([r.rate for r in self.runs])

    @property
    def p99(self) -> Summary:
        return summarize([r.p99_ms for r in self.runs])

    @property
    def errors(self) -> int:
        return sum(r.error_count for r in self.runs)

    @property
    def exhausted(self) -> bool:
        return any(r.exhausted for r in self.runs)

    def cpu_ms_per_request(self) -> dict[str, float]:
        """Per party, the median over the runs of CPU milliseconds per transition."""
        parties = {p for r in self.runs for p in r.cpu}
        return {
            p: summarize([r.cpu_ms_per_request().get(p, math.nan) for r in self.runs]).median
            for p in sorted(parties)
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "app": self.app,
            "transitions_per_second": self.rate.as_dict(),
            "p99_ms": self.p99.as_dict(),
            "errors": self.errors,
            "ran_out_of_work": self.exhausted,
            "cpu_ms_per_request": self.cpu_ms_per_request(),
            "runs": [r.as_dict() for r in self.runs],
        }


def pool_size(seconds: float, rate: float) -> int:
    """Instances enough for `seconds` of transitions at `rate`, with as much again spare."""
    return math.ceil(seconds * rate * 2 / (CHAIN_STEPS - 1))


def top_up(
    app: Flask, firm: seed.Firm, template_id: int, pool: list[int], seconds: float, rate: float
) -> list[int]:
    """The pool, grown by new instances until its open steps last `seconds` at twice `rate`."""
    with app.app_context():
        open_steps = sum(len(chain) for chain in seed.open_chains(pool))
        db.session.remove()
    missing = pool_size(seconds, rate) - math.floor(open_steps / (CHAIN_STEPS - 1))
    if missing <= 0:
        return pool
    return pool + seed_engine(app, firm, template_id, missing)


def seed_engine(app: Flask, firm: seed.Firm, template_id: int, instances: int) -> list[int]:
    ids: list[int] = []
    with app.app_context():
        while len(ids) < instances:  # in batches: a huge identity map slows the seeding
            ids += seed.start_instances(firm, template_id, min(100, instances - len(ids)))
            db.session.remove()
        seed.refresh_statistics()
        db.engine.dispose()  # gunicorn's workers must not inherit our connections
    return ids


def engine_chains(app: Flask, instance_ids: list[int]) -> list[list[str]]:
    with app.app_context():
        chains = seed.open_chains(instance_ids)
        db.session.remove()
    return [[f"/api/v1/steps/{step}/complete" for step in chain] for chain in chains]


def database_backends(database: Database) -> list[int]:
    """The PostgreSQL server processes of the connections open on the bench database
    (gunicorn's workers hold theirs once the warm-up has run)."""
    if database.name != "postgresql":
        return []
    engine = create_engine(database.url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text(BACKENDS)))
    finally:
        engine.dispose()


def bench_engine(
    app: Flask,
    database: Database,
    firm: seed.Firm,
    load: Load,
    runs: int,
    seconds: float,
) -> list[HttpResult]:
    """The engine with tracing off ("engine"), on ("traced") and on with one trace in ten
    kept ("traced10"), three servers side by side whose runs take turns, in an order that
    turns with each round, so a busy spell of the machine falls on all alike. Before
    each run the pool of open steps is topped up for the fastest rate seen so far (at
    least MIN_RATE): a slow warm-up must not starve the timed runs."""
    with app.app_context():
        steps = seed.checklist_chain(CHAIN_STEPS)
        template_id = seed.published_template(firm, "Bench chain", steps)
    headers = {"Authorization": f"Bearer {firm.token}"}
    plain_env = server_environment(database)
    settings = {"engine": {}, TRACED: TRACING_ON, SAMPLED: SAMPLED_ONE_IN_TEN}
    results: dict[str, list[RunResult]] = {name: [] for name in settings}
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(gunicorn("webapp:create_app()", {**plain_env, **extra}))
            for name, extra in settings.items()
        }

        def one_run(server: Any, instance_ids: list[int], length: float) -> RunResult:
            return run_load(
                server,
                load,
                engine_chains(app, instance_ids),
                length,
                headers=headers,
                body=seed.COMPLETE_PAYLOAD,
                database_pids=database_backends(database),
            )

        pool = seed_engine(app, firm, template_id, pool_size(WARMUP_SECONDS, WARMUP_RATE))
        rate = float(MIN_RATE)
        for server in servers.values():  # each server's warm-up
            pool = top_up(app, firm, template_id, pool, WARMUP_SECONDS, WARMUP_RATE)
            rate = max(rate, one_run(server, pool, WARMUP_SECONDS).rate)
        names = list(servers)
        for round_number in range(runs):
            # Each round starts with the next server, so none always runs right after
            # another's load (a WAL left to checkpoint, a cold cache).
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                pool = top_up(app, firm, template_id, pool, seconds, rate)
                results[name].append(one_run(servers[name], pool, seconds))
                rate = max(rate, results[name][-1].rate)
    return [HttpResult(database.label, name, runs_of) for name, runs_of in results.items()]


def tracing_cost(results: list[HttpResult], traced: str = TRACED) -> float:
    """How much slower the engine runs with tracing on (`traced`: TRACED or SAMPLED), in
    percent of its rate off."""
    rates = {r.app: r.rate.median for r in results}
    off, on = rates.get("engine", math.nan), rates.get(traced, math.nan)
    return (1 - on / off) * 100 if off else math.nan


def tracing_cpu_cost(results: list[HttpResult], traced: str = TRACED) -> float:
    """How much more CPU the server spends per transition with tracing on, in percent: a
    steadier figure than the rate on a shared machine, since another process's work
    lowers the rate but not the CPU a request takes."""
    cpu = {r.app: r.cpu_ms_per_request().get("server", math.nan) for r in results}
    off, on = cpu.get("engine", math.nan), cpu.get(traced, math.nan)
    return (on / off - 1) * 100 if off else math.nan


def bench_baseline(database: Database, load: Load, runs: int, seconds: float) -> HttpResult:
    item_ids = baseline.create_tables(database.url, items=load.clients * 16)
    chains = [[f"/items/{item}/complete"] for item in item_ids]
    results = []
    with gunicorn("bench.baseline:create_app()", server_environment(database)) as server:

        def one_run(length: float) -> RunResult:
            return run_load(
                server,
                load,
                chains,
                length,
                headers={},
                body=seed.COMPLETE_PAYLOAD,
                repeat=True,
                database_pids=database_backends(database),
            )

        one_run(WARMUP_SECONDS)
        for _ in range(runs):
            results.append(one_run(seconds))
    return HttpResult(database.label, "baseline", results)
