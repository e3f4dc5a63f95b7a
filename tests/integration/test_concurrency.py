"""Two people complete the same step at the same moment. Each request runs in its own
thread, app context, session and connection. A gate holds the database's write lock
until both requests are inside their service call, so they truly overlap: exactly one
wins, the other gets 409, and the audit trail records one completion."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus

import pytest
from sqlalchemy import select, text

from tests.integration.support import count, step_by_key
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, Job, WorkflowEvent
from webapp.persistence.transaction import WriterLock, writer_lock_path
from webapp.services.auth import create_token

WAIT_SECONDS = 15


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@contextmanager
def sqlite_gate(
    arrived: threading.Semaphore, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], None]]:
    """Hold the writers' lock; count the service transactions that queue behind it."""
    holder = WriterLock(writer_lock_path(db.engine.url.database) or "")
    holder.acquire()
    acquire = WriterLock.acquire

    def counted(lock: WriterLock) -> None:
        arrived.release()  # a service transaction, about to wait for the lock
        acquire(lock)

    monkeypatch.setattr(WriterLock, "acquire", counted)
    try:

        def wait_for_both() -> None:
            for _ in range(2):
                assert arrived.acquire(timeout=WAIT_SECONDS), "a request never reached the lock"

        yield wait_for_both
    finally:
        holder.release()


@contextmanager
def postgres_gate(table: str, row_id: int) -> Iterator[Callable[[], None]]:
    """Lock the row; both requests then queue on it in SELECT ... FOR UPDATE."""
    with db.engine.connect() as holder, db.engine.connect() as observer:
        holder.execute(text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE"), {"id": row_id})

        def waiting() -> int:
            observer.rollback()
            return observer.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )

        yield lambda: wait_for(lambda: waiting() >= 2, f"both requests to wait on the {table} row")
        holder.commit()


def test_two_concurrent_completions_of_one_step_let_exactly_one_through_when_raced(
    app, demo, api_as, dialect, monkeypatch
):
    lawyer = api_as(demo.user(Role.LAWYER))
    instance = lawyer.get("/instances").json["items"][0]
    step = step_by_key(lawyer.get(f"/instances/{instance['id']}").json, "conflict_check")
    tokens = [create_token(demo.user(Role.PARALEGAL).email) for _ in range(2)]
    events_before, jobs_before = count(WorkflowEvent), count(Job)
    db.session.commit()
    results: list[tuple[int, dict]] = []
    failures: list[BaseException] = []

    def complete(token: str) -> None:
        try:
            with app.app_context():
                response = app.test_client().post(
                    f"/api/v1/steps/{step['id']}/complete",
                    json={"checkedItems": step["actionConfig"]["items"]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                results.append((response.status_code, response.get_json()))
        except BaseException as error:  # surfaced by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=complete, args=(token,)) for token in tokens]
    if dialect == "sqlite":
        gate = sqlite_gate(threading.Semaphore(0), monkeypatch)
    else:
        gate = postgres_gate("workflow_instances", instance["id"])
    with gate as wait_for_both:
        for thread in threads:
            thread.start()
        wait_for_both()
    for thread in threads:
        thread.join(WAIT_SECONDS)

    assert not failures, failures
    assert sorted(status for status, _ in results) == [HTTPStatus.OK, HTTPStatus.CONFLICT]
    loser = next(body for status, body in results if status == HTTPStatus.CONFLICT)
    assert loser["error"]["code"] == "conflict"
    assert "already COMPLETED" in loser["error"]["message"]

    db.session.expire_all()
    completions = select(WorkflowEvent).where(WorkflowEvent.step_id == step["id"])
    by_type = [e.event_type for e in db.session.scalars(completions)]
    assert by_type.count("step.complete") == 1
    assert by_type.count("step.start") == 1
    assert db.session.get(InstanceStep, step["id"]).action_state == "COMPLETED"
    # One completion's worth of rows: start, complete, activate next, status change.
    assert count(WorkflowEvent) == events_before + 4
    assert count(Job) == jobs_before + 1
