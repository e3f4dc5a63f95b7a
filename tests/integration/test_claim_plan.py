"""The worker's claim reads the first due jobs through an index and stops: it never reads
and sorts every due job, so draining a backlog does not slow as the backlog grows."""

from datetime import timedelta
from typing import Any

from sqlalchemy import Select, event, insert, select, text

from webapp.extensions import db
from webapp.models import Job
from webapp.models.base import utcnow
from webapp.services import outbox

BACKLOG = 4000


def fill_backlog(due: int, done: int) -> None:
    """`due` pending jobs whose time has come (the oldest first), `done` finished ones."""
    start = utcnow() - timedelta(days=1)
    rows = [
        {
            "kind": "notify",
            "payload": {},
            "run_at": start + timedelta(seconds=n),
            "status": outbox.PENDING if n < due else outbox.DONE,
            "dedupe_key": f"backlog-{n}",
        }
        for n in range(due + done)
    ]
    db.session.execute(insert(Job), rows)
    db.session.commit()
    with db.engine.connect() as connection:
        connection.execute(text("ANALYZE jobs"))
        connection.commit()


def plan(query: Select) -> str:
    """The database's plan for `query`, as text."""
    sqlite = db.engine.dialect.name == "sqlite"
    compiled = query.compile(dialect=db.engine.dialect)
    values = compiled.construct_params()
    params: Any = tuple(values[name] for name in compiled.positiontup or []) if sqlite else values
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + str(compiled), params).all()
    return "\n".join(" ".join(str(part) for part in row) for row in rows)


def test_claim_reads_the_due_jobs_index_in_order_when_thousands_are_due(app) -> None:
    fill_backlog(due=BACKLOG, done=BACKLOG)
    pending = plan(outbox.due_jobs(utcnow(), 10))
    expired = plan(outbox.expired_leases(utcnow(), 10))
    if db.engine.dialect.name == "sqlite":
        assert "USING COVERING INDEX ix_jobs_status_run_at_id" in pending, pending
        assert "TEMP B-TREE" not in pending, pending
        assert "ix_jobs_status_locked_until" in expired, expired
        assert "TEMP B-TREE" not in expired, expired
    else:
        assert "ix_jobs_status_run_at_id" in pending, pending
        assert "Sort" not in pending and "Seq Scan" not in pending, pending
        assert "ix_jobs_status_locked_until" in expired, expired
        assert "Sort" not in expired, expired


def test_claim_takes_the_oldest_due_jobs_in_two_bounded_statements_when_a_backlog_waits(
    app,
) -> None:
    fill_backlog(due=BACKLOG, done=0)
    oldest = list(db.session.scalars(select(Job.id).order_by(Job.run_at, Job.id).limit(25)).all())
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        claimed = outbox.claim_jobs("w1", 25)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert [job.id for job in claimed] == oldest
    updates = [s for s in sent if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 2 and all("LIMIT" in s.upper() for s in updates)
    db.session.expire_all()
    running = db.session.scalars(select(Job.id).where(Job.status == outbox.RUNNING)).all()
    assert sorted(running) == sorted(oldest)


def test_claim_takes_back_an_expired_lease_before_new_work_when_a_worker_died(app) -> None:
    fill_backlog(due=5, done=0)
    stale = db.session.scalar(select(Job).order_by(Job.run_at.desc()).limit(1))
    stale.status, stale.locked_by = outbox.RUNNING, "dead-worker"
    stale.locked_until = utcnow() - timedelta(minutes=1)
    db.session.commit()
    claimed = outbox.claim_jobs("w2", 2)
    assert claimed[0].id == stale.id and len(claimed) == 2
    db.session.expire_all()
    assert db.session.get(Job, stale.id).locked_by == "w2"
