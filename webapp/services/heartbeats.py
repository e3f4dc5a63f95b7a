"""Workers' heartbeats: each worker's loop writes when it was last alive (a row of its
own, every WORKER_HEARTBEAT_SECONDS), and the readiness probe asks whether any worker was
seen within WORKER_HEARTBEAT_MAX_AGE."""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from webapp.extensions import db
from webapp.models import WorkerHeartbeat
from webapp.persistence.transaction import transactional
from webapp.services.clock import now as clock_now

FORGET_AFTER = timedelta(days=1)  # a worker not seen for this long has gone for good


@dataclass
class Heartbeat:
    """One worker's: `beat` writes at most every WORKER_HEARTBEAT_SECONDS."""

    worker_id: str
    started_at: datetime = field(default_factory=clock_now)
    _next: float = 0.0

    def beat(self, jobs_run: int) -> None:
        if time.monotonic() < self._next:
            return
        record(self.worker_id, self.started_at, jobs_run, clock_now())
        self._next = time.monotonic() + current_app.config["WORKER_HEARTBEAT_SECONDS"]


@transactional
def record(worker_id: str, started_at: datetime, jobs_run: int, now: datetime) -> None:
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    values = {
        "worker_id": worker_id,
        "started_at": started_at,
        "seen_at": now,
        "jobs_run": jobs_run,
    }
    db.session.execute(
        dialect.insert(WorkerHeartbeat)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["worker_id"], set_={"seen_at": now, "jobs_run": jobs_run}
        )
    )
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < now - FORGET_AFTER))


@dataclass(frozen=True)
class Liveness:
    alive: int  # workers seen within the allowed age
    last_seen_seconds: float | None  # since the newest heartbeat; None: never


def workers_alive(now: datetime, max_age_seconds: float) -> Liveness:
    newest, alive = db.session.execute(
        select(
            func.max(WorkerHeartbeat.seen_at),
            func.count().filter(
                WorkerHeartbeat.seen_at >= now - timedelta(seconds=max_age_seconds)
            ),
        )
    ).one()
    if newest is None:
        return Liveness(0, None)
    if newest.tzinfo is None:  # SQLite's aggregate skips the column type's conversion
        newest = newest.replace(tzinfo=now.tzinfo)
    return Liveness(alive, max(0.0, (now - newest).total_seconds()))
