"""(c) worker jobs per second on each database with 1 and 2 worker processes.

Each run seeds instances of a template of parallel `core.echo` steps (dependsOn []), so
that instances x steps `step.run` jobs are pending, then times real worker processes
draining them until none is due."""

import importlib.util
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, func, insert, select

from bench import seed
from bench.databases import Database, server_environment
from bench.server import ROOT, open_log
from bench.stats import Summary, summarize
from webapp.extensions import db
from webapp.models import Job

FAN_OUT = 20  # echo steps per instance, all due at once
PROBE_INSTANCES = 5  # the warm-up run, which also sizes the timed runs
MIN_INSTANCES, MAX_INSTANCES = 5, 60
RUN_TIMEOUT = 180


def worker_available() -> bool:
    return importlib.util.find_spec("webapp.worker") is not None


@dataclass
class DrainRun:
    jobs: int  # what drain() said it ran
    seconds: float
    done_in_database: int  # the cross-check: jobs that became DONE during the run
    left_pending: int
    dead: int

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
            "done_in_database": self.done_in_database,
            "left_pending": self.left_pending,
            "dead": self.dead,
        }


@dataclass
class WorkerResult:
    database: str
    workers: int
    runs: list[DrainRun] = field(default_factory=list)

    @property
    def rate(self) -> Summary:
        return summarize([r.rate for r in self.runs])

    @property
    def problems(self) -> int:
        """Jobs left behind, dead, or counted differently by drain() and the database."""
        return sum(r.left_pending + r.dead + abs(r.jobs - r.done_in_database) for r in self.runs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "workers": self.workers,
            "jobs_per_second": self.rate.as_dict(),
            "left_pending_or_dead": self.problems,
            "runs": [r.as_dict() for r in self.runs],
        }


def _count(status: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Job).where(Job.status == status))


def _seed_jobs(app: Flask, firm: seed.Firm, template_id: int, instances: int) -> int:
    with app.app_context():
        seed.start_instances(firm, template_id, instances)
        seed.refresh_statistics()
        pending = _count("PENDING")
        db.session.remove()
        db.engine.dispose()  # the workers start on a quiet database
    return pending


def _spawn(database: Database, name: str) -> subprocess.Popen:
    with open_log() as log:  # a line per job: to the file, not the report
        return subprocess.Popen(
            [sys.executable, "-m", "bench.worker_proc", name],
            cwd=ROOT,
            env=server_environment(database),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )


def drain_run(app: Flask, database: Database, workers: int, run: int) -> DrainRun:
    processes = [_spawn(database, f"bench-{run}-{n}") for n in range(workers)]
    try:
        for process in processes:
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError("a worker process failed to start")
        with app.app_context():
            done_before = _count("DONE")
            db.session.remove()
        go = time.monotonic()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = [_report(process) for process in processes]
    finally:
        for process in processes:
            process.kill()
            process.wait()
    with app.app_context():
        done = _count("DONE") - done_before
        left, dead = _count("PENDING"), _count("DEAD")
        db.session.remove()
    finished = max(r["finished"] for r in reports)
    return DrainRun(sum(r["jobs"] for r in reports), finished - go, done, left, dead)


def _report(process: subprocess.Popen) -> dict[str, Any]:
    line = process.stdout.readline()
    if not line.startswith("{"):
        process.wait(timeout=RUN_TIMEOUT)
        raise RuntimeError(f"a worker process exited with code {process.returncode}")
    return json.loads(line)


def bench_workers(
    app: Flask, database: Database, firm: seed.Firm, runs: int, seconds: float
) -> list[WorkerResult]:
    with app.app_context():
        template_id = seed.published_template(firm, "Bench echo", seed.echo_fan_out(FAN_OUT))
        db.session.remove()
    results = []
    for workers in (1, 2):
        _seed_jobs(app, firm, template_id, PROBE_INSTANCES)
        probe = drain_run(app, database, workers, 0)
        instances = _instances_for(probe.rate, seconds)
        result = WorkerResult(database.label, workers)
        for run in range(1, runs + 1):
            _seed_jobs(app, firm, template_id, instances)
            result.runs.append(drain_run(app, database, workers, run))
        results.append(result)
    return results


def _instances_for(rate: float, seconds: float) -> int:
    """Enough instances that a run lasts about `seconds` at the warm-up's rate."""
    if not rate or math.isnan(rate):
        return MIN_INSTANCES
    return max(MIN_INSTANCES, min(MAX_INSTANCES, round(rate * seconds / FAN_OUT)))


# ---- the claim with a backlog (issue 19) ----------------------------------------------------

BACKLOG_DUE = 10_000  # jobs claimed and settled in each measure
BACKLOG_WAITING = 100_000  # due jobs waiting behind them in the second measure
BACKLOG_KIND = "bench.backlog"  # no runner: the measure claims and settles, it runs nothing


@dataclass
class BacklogResult:
    """The worker's claim-and-settle rate of BACKLOG_DUE due jobs alone and with
    BACKLOG_WAITING more due jobs behind them (later run_at): a claim that reads and sorts
    every due job slows as the backlog grows; one that reads an index does not."""

    database: str
    alone: float  # jobs per second
    with_backlog: float

    @property
    def ratio(self) -> float:
        return self.with_backlog / self.alone if self.alone else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "due_jobs": BACKLOG_DUE,
            "waiting_jobs": BACKLOG_WAITING,
            "alone_per_second": round(self.alone, 1),
            "with_backlog_per_second": round(self.with_backlog, 1),
            "ratio": round(self.ratio, 3),
        }


def _insert_due(count: int, first_run_at: datetime) -> None:
    """Due jobs shaped as the journal's `enqueue` writes them, one microsecond apart."""
    rows = [
        {
            "kind": BACKLOG_KIND,
            "payload": {"n": n},
            "org_id": None,
            "instance_id": None,
            "dedupe_key": None,
            "run_at": first_run_at + timedelta(microseconds=n),
            "max_attempts": 5,
            "status": "PENDING",
            "attempts": 0,
            "created_at": first_run_at,
            "updated_at": first_run_at,
        }
        for n in range(count)
    ]
    for start in range(0, count, 10_000):
        db.session.execute(insert(Job), rows[start : start + 10_000])
    db.session.commit()


def _claim_and_settle(app: Flask, count: int) -> float:
    """Claims batches as the worker does (`outbox.claim_jobs`) and settles each job
    (`outbox.settle`), each its own transaction, until `count` are done: jobs per second."""
    from webapp.services import outbox

    batch = app.config["WORKER_BATCH_SIZE"]
    done = 0
    began = time.perf_counter()
    while done < count:
        claimed = outbox.claim_jobs("bench-backlog", min(batch, count - done))
        if not claimed:
            break
        for job in claimed:
            outbox.settle(job.id, "bench-backlog")
        done += len(claimed)
    return done / (time.perf_counter() - began)


def bench_backlog(app: Flask, label: str) -> BacklogResult:
    with app.app_context():
        db.session.execute(delete(Job))
        db.session.commit()
        past = datetime.now(UTC) - timedelta(days=1)
        _insert_due(BACKLOG_DUE, past)
        seed.refresh_statistics()
        alone = _claim_and_settle(app, BACKLOG_DUE)
        db.session.execute(delete(Job))
        db.session.commit()
        _insert_due(BACKLOG_DUE, past)
        _insert_due(BACKLOG_WAITING, past + timedelta(hours=1))
        seed.refresh_statistics()
        with_backlog = _claim_and_settle(app, BACKLOG_DUE)
        db.session.execute(delete(Job))
        db.session.commit()
        db.session.remove()
    return BacklogResult(label, alone, with_backlog)
