"""Surviving database faults (issue 17): PostgreSQL really drops the connection — the test
ends the backend with `pg_terminate_backend`, as a restart or a failover does — at a chosen
statement. The door tries a change again, the worker waits and goes on without counting an
attempt, and every answer says what happened, in JSON for the API. SQLite has no
connection to lose, so these run on PostgreSQL."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.pool import NullPool

from tests.integration.engine_support import (
    by_key,
    fresh,
    make_firm,
    publish,
    reload,
    run_worker,
    start,
    step,
)
from webapp.extensions import db
from webapp.models import Job, SecurityEvent, SecurityEventKind, StepAttempt, WorkflowEvent


@pytest.fixture(autouse=True)
def postgres_only(dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("a connection the database drops is PostgreSQL's case")


@pytest.fixture
def firm(make_org, make_user, make_matter, api_as):
    return make_firm(make_org, make_user, make_matter, api_as)


@contextmanager
def dropped_connections(
    statement: str, times: int, at_commit: bool = False, after: bool = False
) -> Iterator[list]:
    """The database ends the connection that is about to send `statement` (with `after`,
    that has just run it; with `at_commit`, that is about to COMMIT), the first `times`
    times; yields the ended backends' pids."""
    engine = db.engine
    admin = create_engine(engine.url, poolclass=NullPool)
    ended: list[int] = []

    def end(connection: Any) -> None:
        pid = connection.connection.dbapi_connection.info.backend_pid
        with admin.connect() as own:
            # With a timeout, pg_terminate_backend returns once the backend is gone.
            own.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        ended.append(pid)

    def before_statement(connection: Any, cursor: Any, sql: str, *args: Any) -> None:
        if not at_commit and len(ended) < times and statement in sql:
            end(connection)

    def before_commit(connection: Any) -> None:
        if at_commit and len(ended) < times:
            end(connection)

    statement_event = "after_cursor_execute" if after else "before_cursor_execute"
    event.listen(engine, statement_event, before_statement)
    event.listen(engine, "commit", before_commit)
    try:
        yield ended
    finally:
        event.remove(engine, statement_event, before_statement)
        event.remove(engine, "commit", before_commit)
        admin.dispose()


def checklist_instance(firm: Any) -> tuple[int, int]:
    template = publish(
        firm.api, "Intake", [step("review", "CHECKLIST", config={"items": ["Read it"]})]
    )
    instance = start(firm.api, template, firm.matter.id)
    return instance["id"], by_key(instance, "review")["id"]


def complete(firm: Any, step_id: int) -> Any:
    return firm.api.post(f"/steps/{step_id}/complete", json={"checkedItems": ["Read it"]})


def completions_recorded(step_id: int) -> int:
    fresh()
    return (
        db.session.scalar(
            select(func.count())
            .select_from(WorkflowEvent)
            .where(WorkflowEvent.step_id == step_id, WorkflowEvent.event_type == "step.complete")
        )
        or 0
    )


def test_a_change_whose_connection_drops_is_made_once_on_a_new_one(firm):
    instance_id, step_id = checklist_instance(firm)
    with dropped_connections("UPDATE instance_steps", times=1) as ended:
        response = complete(firm, step_id)
    assert len(ended) == 1
    assert response.status_code == 200, response.json
    assert by_key(reload(firm.api, instance_id), "review")["actionState"] == "COMPLETED"
    assert completions_recorded(step_id) == 1


def test_a_database_that_stays_away_is_answered_in_json_and_nothing_is_changed(firm):
    instance_id, step_id = checklist_instance(firm)
    with dropped_connections("UPDATE instance_steps", times=3):
        response = complete(firm, step_id)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json["error"]["code"] == "unavailable"
    assert "nothing was changed" in response.json["error"]["message"]
    assert by_key(reload(firm.api, instance_id), "review")["actionState"] == "READY"
    assert completions_recorded(step_id) == 0
    assert complete(firm, step_id).status_code == 200  # and it answers again


def test_a_commit_cut_off_is_answered_as_unknown_never_as_nothing_changed(firm):
    _, step_id = checklist_instance(firm)
    with dropped_connections("", times=1, at_commit=True) as ended:
        response = complete(firm, step_id)
    assert len(ended) == 1
    assert response.status_code == 503
    assert response.json["error"]["code"] == "outcome_unknown"
    assert "may or may not" in response.json["error"]["message"]
    assert "nothing was changed" not in response.json["error"]["message"].lower()


def test_a_read_whose_connection_drops_answers_503_in_json(firm):
    checklist_instance(firm)
    with dropped_connections("FROM workflow_instances", times=1):
        response = firm.api.get("/instances")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "unavailable"
    assert firm.api.get("/instances").status_code == 200


def test_the_worker_outlives_a_database_that_drops_it_and_counts_no_attempt(app, firm, monkeypatch):
    monkeypatch.setitem(app.config, "WORKER_RECONNECT_SECONDS", 0.01)
    template = publish(firm.api, "Automated", [step("echo"), step("after", dependsOn=["echo"])])
    instance = start(firm.api, template, firm.matter.id)
    # Three drops in a row outlast the door's own tries: first under the claim, then
    # under the step's run (an echo step has one attempt: counting a fault would fail it).
    with (
        dropped_connections("UPDATE jobs", times=3),
        dropped_connections("INSERT INTO step_attempts", times=3) as ended_in_run,
    ):
        run_worker()
    assert len(ended_in_run) == 3
    done = reload(firm.api, instance["id"])
    assert done["status"] == "Completed", done
    echo = by_key(done, "echo")
    attempts = db.session.scalars(select(StepAttempt).where(StepAttempt.step_id == echo["id"]))
    assert [(a.number, a.status) for a in attempts] == [(1, "SUCCEEDED")]
    jobs = db.session.scalars(select(Job).where(Job.instance_id == instance["id"])).all()
    assert {job.status for job in jobs} == {"DONE"}
    assert max(job.attempts for job in jobs) == 1


def test_a_worker_started_while_the_database_drops_it_waits_and_then_runs(app, firm, monkeypatch):
    """A worker's start-up check (the secret keys) once let a dropped connection end the
    process; in the chaos test both restarted workers died that way and nothing ran."""
    monkeypatch.setitem(app.config, "WORKER_RECONNECT_SECONDS", 0.01)
    template = publish(firm.api, "Automated", [step("echo")])
    instance = start(firm.api, template, firm.matter.id)
    with dropped_connections("FROM secrets", times=2) as ended:
        result = app.test_cli_runner().invoke(args=["worker", "--until-idle"])
    assert len(ended) == 2
    assert result.exception is None, result.output
    assert "ran 1 job(s)" in result.output
    assert reload(firm.api, instance["id"])["status"] == "Completed"


@contextmanager
def dropped_after_commits(commits: int) -> Iterator[list]:
    """The database ends the connection of the first statement sent after the `commits`-th
    COMMIT; yields the ended backend's pid."""
    engine = db.engine
    admin = create_engine(engine.url, poolclass=NullPool)
    committed: list[bool] = []
    ended: list[int] = []

    def after_commit(_connection: Any) -> None:
        committed.append(True)

    def before_statement(connection: Any, *args: Any) -> None:
        if len(committed) == commits and not ended:
            pid = connection.connection.dbapi_connection.info.backend_pid
            with admin.connect() as own:
                own.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
            ended.append(pid)

    event.listen(engine, "commit", after_commit)
    event.listen(engine, "before_cursor_execute", before_statement)
    try:
        yield ended
    finally:
        event.remove(engine, "commit", after_commit)
        event.remove(engine, "before_cursor_execute", before_statement)
        admin.dispose()


def test_a_fault_after_the_change_was_saved_never_spoils_its_answer(firm, api_as):
    """After the door's commit the request still notes the token's first use (a security
    event); the database dropping the connection then costs that note, not the answer.
    Before the chaos test found it, a saved change was answered 503 `unavailable`."""
    instance_id, step_id = checklist_instance(firm)
    fresh_token = api_as(firm.lawyer)  # its first use is noted after the change
    # The first commit is the token's last-used time, the second the door's.
    with dropped_after_commits(2) as ended:
        response = fresh_token.post(
            f"/steps/{step_id}/complete", json={"checkedItems": ["Read it"]}
        )
    assert len(ended) == 1
    assert response.status_code == 200, response.json
    assert by_key(reload(firm.api, instance_id), "review")["actionState"] == "COMPLETED"
    assert completions_recorded(step_id) == 1


def test_a_connection_ended_before_the_teardown_never_turns_the_answer_into_a_500(firm, api_as):
    """The token's first use is noted at the very end of the request, after a ROLLBACK of
    what the request left open. A connection the database ended just before refuses even
    that ROLLBACK; raised from the teardown, it replaced the JSON answer with the server's
    HTML error page (the chaos test found it)."""
    checklist_instance(firm)
    fresh_token = api_as(firm.lawyer)  # its first use is noted
    with dropped_connections("SELECT api_tokens.id, api_tokens.name", times=1, after=True) as ended:
        response = fresh_token.get("/instances")
    assert len(ended) == 1
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.json["items"]
    fresh()
    noted = select(func.count()).where(SecurityEvent.kind == SecurityEventKind.TOKEN_USED)
    assert db.session.scalar(noted) >= 1  # the note was still written, on a new connection
