"""`make bench` / `python -m bench [--runs N] [--seconds S] [--only a,b,c] [--databases ...]`

Prints (a) HTTP transitions per second and p99 with the bare baseline beside them, (b) the
cost of one transition service call at 5, 50 and 500 steps, (c) worker jobs per second,
each as the median of several runs, (d) the server time and SQL statements of the pages
(runner, HTMX and API completions, inbox), (e) every page on a big firm built once and kept
(`--only e`, `--scale`, `--rebuild`), (f) signed webhook firings per second and the delay
from a due cron time to its instance (`--only f`), (g) migrating one 50-step instance to a
new template version and 500 in bulk (`--only g`), (h) documents rendered per second (HTML →
PDF, Word → DOCX and PDF; `--only h`), and writes bench-results/latest.json."""

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url

from bench import (
    bigfirm,
    bigfirm_pages,
    document_bench,
    http_bench,
    migration_bench,
    pages_bench,
    seed,
    service_bench,
    trigger_bench,
    worker_bench,
)
from bench.app import fresh_app, migrated_app
from bench.databases import (
    Database,
    Unavailable,
    big_database,
    postgres_database,
    sqlite_database,
)
from bench.loadrun import Load
from bench.report import Report
from bench.server import ROOT, load_average
from webapp.extensions import db

RESULTS = ROOT / "bench-results" / "latest.json"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one timed run")
    parser.add_argument("--only", default="a,b,c,d,f,h", help="sections to run, e.g. a or b,c")
    parser.add_argument(
        "--samples", type=int, default=40, help="(d) timed requests per page figure"
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--processes", type=int, default=2, help="load client processes")
    parser.add_argument("--threads", type=int, default=4, help="client threads per process")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="(e) size of the big firm on PostgreSQL (1: 18,000 matters); SQLite takes a tenth",
    )
    parser.add_argument("--rebuild", action="store_true", help="(e) build the big firm afresh")
    parser.add_argument(
        "--big-samples", type=int, default=20, help="(e) timed requests per page figure"
    )
    return parser.parse_args(argv)


def databases(wanted: list[str]) -> tuple[list[Database], list[Unavailable]]:
    found: list[Database] = []
    missing: list[Unavailable] = []
    if "sqlite" in wanted:
        found.append(sqlite_database())
    if "postgresql" in wanted:
        postgres = postgres_database()
        (found if isinstance(postgres, Database) else missing).append(postgres)
    return found, missing


def progress(message: str) -> None:
    print(f"  · {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sections = set(args.only.split(","))
        self.load = Load(args.processes, args.threads)
        self.http: list[http_bench.HttpResult] = []
        self.service: list[service_bench.ServiceResult] = []
        self.workers: list[worker_bench.WorkerResult] = []
        self.pages: list[pages_bench.PagesResult] = []
        self.big: list[bigfirm_pages.BigResult] = []
        self.backlog: list[worker_bench.BacklogResult] = []
        self.triggers: list[trigger_bench.TriggerResult] = []
        self.migrations: list[migration_bench.MigrationResult] = []
        self.documents: list[document_bench.DocumentResult] = []
        self.failures: list[str] = []

    def attempt(self, what: str, step: Callable[[], Any]) -> Any:
        """One failing figure is reported and the others still run."""
        progress(what)
        try:
            return step()
        except Exception as error:
            self.failures.append(f"{what}: {type(error).__name__}: {error}")
            traceback.print_exc(file=sys.stderr)
            return None

    def on(self, database: Database) -> None:
        """Each section on a freshly migrated database of its own, so one section's rows
        (and the vacuuming they call for) do not weigh on the next."""
        if "c" in self.sections and worker_bench.worker_available():
            self.workers += self._fresh(database, self._workers) or []
        if "b" in self.sections:
            self.service += [r for r in [self._fresh(database, self._service)] if r]
        if "a" in self.sections:
            self.http += [r for r in self._fresh(database, self._http) if r]
        if "d" in self.sections:
            self.pages += [r for r in [self._fresh(database, self._pages)] if r]
        if "e" in self.sections:
            self.big += [r for r in [self._big(database)] if r]
        if "f" in self.sections:
            self.triggers += [r for r in [self._fresh(database, self._triggers)] if r]
        if "g" in self.sections:
            self.migrations += [r for r in [self._fresh(database, self._migrations)] if r]

    def _triggers(self, app: Flask, database: Database, firm: seed.Firm) -> Any:
        args = self.args
        return self.attempt(
            f"{database.label}: (f) signed webhook firings over HTTP, then a due cron time",
            lambda: trigger_bench.bench_triggers(app, database, firm, args.runs, args.seconds),
        )

    def documents_once(self) -> None:
        """(h) renders in process, without a database: once, whatever the databases."""
        if "h" in self.sections:
            args = self.args
            found = self.attempt(
                "(h) documents rendered per second: HTML → PDF, Word → DOCX and PDF",
                lambda: document_bench.bench_documents(args.runs, args.seconds),
            )
            self.documents = found or []

    def _big(self, database: Database) -> Any:
        big = big_database(database)
        if isinstance(big, Unavailable):
            self.failures.append(f"{database.label}: (e) {big.reason}")
            return None
        scale = self.args.scale * (1.0 if database.name == "postgresql" else 0.1)
        app = migrated_app(big, bigfirm.APP_SETTINGS)
        try:
            with app.app_context():
                built = bigfirm.load_marker()
            reused = built is not None and built.scale == scale and not self.args.rebuild
            if not reused:
                with app.app_context():
                    db.engine.dispose()
                app = fresh_app(big, bigfirm.APP_SETTINGS)
                built = self.attempt(
                    f"{database.label}: (e) building the big firm at scale {scale:g}",
                    lambda: bigfirm.build(app, scale),
                )
                if built is None:
                    return None
                progress(f"{database.label}: (e) built in {built.build_seconds:.0f} s")
            samples, results = self.args.big_samples, self.args.output.parent
            return self.attempt(
                f"{database.label}: (e) every page on the big firm",
                lambda: bigfirm_pages.bench_bigfirm(
                    app, built, reused, database.label, samples, results
                ),
            )
        finally:
            with app.app_context():
                db.engine.dispose()

    def _fresh(self, database: Database, section: Callable[..., Any]) -> Any:
        app = fresh_app(database)
        with app.app_context():
            firm = seed.create_firm()
        try:
            return section(app, database, firm)
        finally:
            with app.app_context():
                db.engine.dispose()

    def _workers(self, app: Flask, database: Database, firm: seed.Firm) -> Any:
        args = self.args
        found = self.attempt(
            f"{database.label}: (c) worker processes draining jobs",
            lambda: worker_bench.bench_workers(app, database, firm, args.runs, args.seconds),
        )
        backlog = self.attempt(
            f"{database.label}: (c) claiming 10,000 due jobs with and without a backlog",
            lambda: worker_bench.bench_backlog(app, database.label),
        )
        if backlog:
            self.backlog.append(backlog)
        return found

    def _service(self, app: Flask, database: Database, firm: seed.Firm) -> Any:
        args = self.args
        return self.attempt(
            f"{database.label}: (b) transition service calls at 5, 50 and 500 steps",
            lambda: service_bench.bench_service(app, firm, database.label, args.runs, args.seconds),
        )

    def _migrations(self, app: Flask, database: Database, firm: seed.Firm) -> Any:
        runs = self.args.runs
        return self.attempt(
            f"{database.label}: (g) migrating one 50-step instance, and 500 in bulk",
            lambda: migration_bench.bench_migration(app, firm, database.label, runs),
        )

    def _pages(self, app: Flask, database: Database, firm: seed.Firm) -> Any:
        samples = self.args.samples
        return self.attempt(
            f"{database.label}: (d) pages: runner, completions and inbox",
            lambda: pages_bench.bench_pages(app, firm, database.label, samples),
        )

    def _http(self, app: Flask, database: Database, firm: seed.Firm) -> list[Any]:
        args, load = self.args, self.load
        engine = self.attempt(
            f"{database.label}: (a) HTTP transitions, engine with tracing off and on",
            lambda: http_bench.bench_engine(app, database, firm, load, args.runs, args.seconds),
        )
        baseline = self.attempt(
            f"{database.label}: (a) HTTP transitions, baseline",
            lambda: http_bench.bench_baseline(database, load, args.runs, args.seconds),
        )
        return [*(engine or []), baseline]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # The sections that request pages in this process would print a line per request;
    # the servers and workers the bench starts write theirs to bench-results/servers.log.
    logging.getLogger("matterflow.request").setLevel(logging.WARNING)
    logging.getLogger("matterflow.job").setLevel(logging.WARNING)
    began, load_before = time.monotonic(), load_average()
    found, missing = databases(args.databases.split(","))
    bench = Bench(args)
    print(
        f"Matterflow bench: {os.cpu_count()} CPUs, load average {load_before or 0:.2f} at the "
        f"start; each figure is the median of {args.runs} runs [lowest..highest]"
    )
    for database in found:
        print(f"  {database.label}: {_where(database)}")
    for gone in missing:
        print(f"  PostgreSQL skipped: {gone.reason}")
    for database in found:
        bench.on(database)
        discard(database)
    bench.documents_once()
    report = Report()
    if "a" in bench.sections and bench.http:
        report.http(bench.http, bench.load, args.seconds)
    if "b" in bench.sections and bench.service:
        report.service(bench.service)
    if "c" in bench.sections:
        if not worker_bench.worker_available():
            report.skipped("(c)", "no worker yet (webapp.worker is missing)")
        elif bench.workers:
            report.workers(bench.workers)
        if bench.backlog:
            report.backlog(bench.backlog)
    if "d" in bench.sections and bench.pages:
        report.pages(bench.pages)
    if "e" in bench.sections and bench.big:
        report.bigfirm(bench.big)
    if "f" in bench.sections and bench.triggers:
        report.triggers(bench.triggers)
    if "g" in bench.sections and bench.migrations:
        report.migrations(bench.migrations)
    if "h" in bench.sections and bench.documents:
        document_bench.report(bench.documents)
    for failure in bench.failures:
        print(f"\n! {failure}")
    elapsed = time.monotonic() - began
    print(f"\nDone in {elapsed:.0f} s; load average {load_average() or 0:.2f} at the end.")
    write_results(args, bench, report, found, missing, elapsed, load_before)
    return 1 if bench.failures else 0


def discard(database: Database) -> None:
    """The SQLite file lives in a temporary folder of its own; PostgreSQL's database stays."""
    if database.name == "sqlite":
        shutil.rmtree(Path(make_url(database.url).database or "").parent, ignore_errors=True)


def _where(database: Database) -> str:
    url = make_url(database.url)
    if database.name == "sqlite":
        return f"a new file, {url.database}"
    return f"database {url.database} on {url.host}:{url.port or 5432} (emptied first)"


def write_results(
    args: argparse.Namespace,
    bench: Bench,
    report: Report,
    found: list[Database],
    missing: list[Unavailable],
    elapsed: float,
    load_before: float | None,
) -> None:
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": load_before,
            "load_average_after": load_average(),
        },
        "settings": {
            "runs": args.runs,
            "seconds_per_run": args.seconds,
            "load_clients": bench.load.describe(),
            "http_instance_steps": http_bench.CHAIN_STEPS,
            "worker_fan_out": worker_bench.FAN_OUT,
        },
        "databases": [{"database": d.label, "where": _where(d)} for d in found],
        "skipped": [{"database": m.name, "reason": m.reason} for m in missing],
        "http": [r.as_dict() for r in bench.http],
        "service": [r.as_dict() for r in bench.service],
        "pages": [r.as_dict() for r in bench.pages],
        "bigfirm": [r.as_dict() for r in bench.big],
        "worker_backlog": [r.as_dict() for r in bench.backlog],
        "triggers": [r.as_dict() for r in bench.triggers],
        "migrations": [r.as_dict() for r in bench.migrations],
        "documents": [r.as_dict() for r in bench.documents],
        "workers": [r.as_dict() for r in bench.workers]
        if worker_bench.worker_available()
        else {"skipped": "no worker yet"},
        "targets": report.verdicts,
        "failures": bench.failures,
        "elapsed_seconds": round(elapsed, 1),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, default=str) + "\n")
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"Results: {shown}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
