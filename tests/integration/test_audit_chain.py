"""The audit trail is hash-chained per matter (and per firm for rows about no matter):
`flask verify-audit` recomputes every chain, passes an intact one and names the first
row someone changed in the database; concurrent writers on one matter keep one chain,
and writers on two matters never wait on each other."""

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import OperationalError

from tests.integration.test_migrations import fresh_app  # noqa: F401 - a fixture
from webapp import create_app
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, WorkflowEvent
from webapp.persistence.audit_chain import row_hash, verify_chains
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import transactional
from webapp.services.steps import Claim, Complete, perform


def chains() -> dict[tuple[int, int | None], list[Any]]:
    db.session.commit()
    found: dict[tuple[int, int | None], list[Any]] = {}
    for row in db.session.execute(
        select(WorkflowEvent.__table__).order_by(WorkflowEvent.id)
    ).mappings():
        found.setdefault((row["org_id"], row["matter_id"]), []).append(row)
    return found


def verify(app: Flask, *args: str) -> Any:
    db.session.commit()
    return app.test_cli_runner().invoke(args=["verify-audit", *args])


def tamper(statement: str, params: dict[str, Any]) -> None:
    """What the database's owner can do: set the append-only trigger aside and rewrite."""
    postgres = db.engine.dialect.name == "postgresql"
    with db.engine.begin() as connection:
        if postgres:
            connection.execute(
                text("ALTER TABLE workflow_events DISABLE TRIGGER workflow_events_append_only")
            )
        connection.execute(text(statement), params)
        if postgres:
            connection.execute(
                text("ALTER TABLE workflow_events ENABLE TRIGGER workflow_events_append_only")
            )


@pytest.fixture
def worked(demo: Any) -> Any:
    """The demo firm with its first two steps worked through the door."""
    paralegal = demo.user(Role.PARALEGAL)
    first = db.session.scalar(
        select(InstanceStep.id).where(InstanceStep.key == "conflict_check").limit(1)
    )
    perform(paralegal, first, Claim())
    items = ["Search client database", "Search adverse parties", "Record result"]
    perform(paralegal, first, Complete({"checkedItems": items}))
    return demo


def test_every_row_links_to_the_one_before_it_in_its_matter_when_written_by_the_services(
    app, worked
):
    found = chains()
    assert (worked.org.id, worked.matter.id) in found
    assert (worked.org.id, None) in found  # the templates' rows: the firm's own chain
    for rows in found.values():
        assert rows[0]["prev_hash"] is None
        for before, row in itertools.pairwise(rows):
            assert row["prev_hash"] == before["hash"]
        for row in rows:
            assert row["hash"] == row_hash(row, row["prev_hash"])
    assert len({r["hash"] for rows in found.values() for r in rows}) == sum(
        len(rows) for rows in found.values()
    )


def test_verify_audit_exits_zero_when_every_chain_is_intact(app, worked):
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    total = sum(len(rows) for rows in chains().values())
    assert f"{total} row(s)" in result.output


def test_verify_audit_names_the_row_when_the_owner_changes_its_content(app, worked):
    rows = chains()[(worked.org.id, worked.matter.id)]
    victim = rows[len(rows) // 2]
    tamper(
        "UPDATE workflow_events SET actor_id = NULL, new_status = 'COMPLETED' WHERE id = :id",
        {"id": victim["id"]},
    )

    result = verify(app)

    assert result.exit_code == 1
    assert f"audit row {victim['id']} " in result.output
    assert f"matter {worked.matter.id}" in result.output
    assert "no longer matches its hash" in result.output
    assert result.output.count("BROKEN") == 1  # the firm's other chain still holds
    assert verify(app, "--matter", str(worked.matter.id)).exit_code == 1


def test_verify_audit_names_the_next_row_when_a_row_is_deleted(app, worked):
    rows = chains()[(worked.org.id, worked.matter.id)]
    tamper("DELETE FROM workflow_events WHERE id = :id", {"id": rows[2]["id"]})

    result = verify(app, "--matter", str(worked.matter.id))

    assert result.exit_code == 1
    assert f"audit row {rows[3]['id']} " in result.output
    assert f"row {rows[1]['id']}'s hash" in result.output


def test_verify_audit_names_a_rehashed_row_by_the_link_after_it_when_the_owner_rehashes_one(
    app, worked
):
    """Rewriting a row and its own hash moves the break to the next row's link."""
    rows = chains()[(worked.org.id, worked.matter.id)]
    victim = dict(rows[1])
    victim["payload"] = {"forged": True}
    forged = row_hash(victim, victim["prev_hash"])
    tamper(
        "UPDATE workflow_events SET payload = :p, hash = :h WHERE id = :id",
        {"p": '{"forged": true}', "h": forged, "id": victim["id"]},
    )

    result = verify(app)

    assert result.exit_code == 1
    assert f"audit row {rows[2]['id']} " in result.output


def test_verify_audit_only_reads_the_matter_asked_for_when_given_one(app, worked, make_matter):
    other = make_matter(worked.user(Role.LAWYER))
    record_event(org_id=other.org_id, event_type="note", actor_id=None, matter_id=other.id)
    db.session.commit()
    rows = chains()[(worked.org.id, worked.matter.id)]
    tamper("UPDATE workflow_events SET event_type = 'x' WHERE id = :id", {"id": rows[0]["id"]})

    assert verify(app, "--matter", str(other.id)).exit_code == 0
    assert verify(app, "--matter", str(worked.matter.id)).exit_code == 1


@transactional
def append(org_id: int, matter_id: int, label: str) -> None:
    record_event(
        org_id=org_id, event_type="note", actor_id=None, matter_id=matter_id, payload={"by": label}
    )
    record_event(
        org_id=org_id,
        event_type="note",
        actor_id=None,
        matter_id=matter_id,
        payload={"by": label, "second": True},
    )


@contextmanager
def chain_gate(org_id: int, matter_id: int) -> Iterator[Callable[[], None]]:
    """PostgreSQL: hold the matter's chain, so both writers' first commits queue on it
    together and truly overlap; SQLite's writers are queued on a file lock anyway."""
    if db.engine.dialect.name != "postgresql":
        yield lambda: None
        return
    with db.engine.connect() as holder, db.engine.connect() as observer:
        holder.execute(text("SELECT matterflow_chain_head(:o, :m)"), {"o": org_id, "m": matter_id})

        def waiting() -> int:
            observer.rollback()
            return observer.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                )
            )

        def both_waiting() -> None:
            deadline = time.monotonic() + 15
            while waiting() < 2:
                assert time.monotonic() < deadline, "the writers never queued on the chain"
                time.sleep(0.005)

        yield both_waiting
        holder.rollback()


def test_concurrent_appends_on_one_matter_keep_one_unbroken_chain_when_two_threads_race(
    app, make_org, make_user, make_matter
):
    org = make_org()
    matter = make_matter(make_user(org, Role.LAWYER))
    org_id, matter_id = org.id, matter.id
    rounds = 15
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(label: str) -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                for n in range(rounds):
                    append(org_id, matter_id, f"{label}{n}")
                db.session.remove()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(label,)) for label in "ab"]
    with chain_gate(org_id, matter_id) as both_waiting:
        for thread in threads:
            thread.start()
        both_waiting()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors

    rows = chains()[(org_id, matter_id)]
    assert len(rows) == 2 * 2 * rounds
    prevs = [r["prev_hash"] for r in rows]
    assert len(set(prevs)) == len(prevs), "two rows claim the same predecessor: a fork"
    assert verify(app, "--matter", str(matter_id)).exit_code == 0


def test_appends_on_two_matters_do_not_wait_on_each_other_when_on_postgresql(
    app, dialect, make_org, make_user, make_matter
):
    if dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time by design")
    org = make_org()
    lawyer = make_user(org, Role.LAWYER)
    held, free = make_matter(lawyer), make_matter(lawyer)
    with db.engine.connect() as holder:
        # Another transaction appending to `held` holds its chain until it commits.
        holder.execute(text("SELECT matterflow_chain_head(:o, :m)"), {"o": org.id, "m": held.id})
        db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
        append(org.id, free.id, "free")  # commits at once
        db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            append(org.id, held.id, "held")
        holder.rollback()
    assert len(chains()[(org.id, free.id)]) == 2
    assert (org.id, held.id) not in chains()


# ---- the migration -------------------------------------------------------------------------

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")


@pytest.mark.usefixtures("fresh_app")
def test_migration_seals_the_rows_already_written_when_upgrading_an_existing_database() -> None:
    upgrade(directory=MIGRATIONS, revision="0007")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organizations (id, name, created_at) "
                "VALUES (1, 'Old firm', CURRENT_TIMESTAMP)"
            )
        )
        for n, matter in enumerate([7, 8, 7, None, 7, None]):
            connection.execute(
                text(
                    "INSERT INTO workflow_events (org_id, matter_id, event_type, payload, "
                    "created_at) VALUES (1, :m, :t, :p, :c)"
                ),
                {
                    "m": matter,
                    "t": f"old.{n}",
                    "p": f'{{"n": {n}, "b": [1, "é"]}}',
                    "c": f"2026-01-0{n + 1} 10:00:00.123456+00:00",
                },
            )
    upgrade(directory=MIGRATIONS)
    with db.engine.connect() as connection:
        verified = verify_chains(connection)
        hashes = connection.execute(
            text("SELECT matter_id, prev_hash, hash FROM workflow_events ORDER BY id")
        ).all()
    assert (verified.rows, verified.chains, verified.broken) == (6, 3, [])
    assert all(len(h) == 64 for _m, _p, h in hashes)
    assert [p is None for _m, p, _h in hashes] == [True, True, False, True, False, False]
    # What the app appends next continues each chain.
    record_event(org_id=1, event_type="new", actor_id=None, matter_id=7)
    db.session.commit()
    with db.engine.connect() as connection:
        assert verify_chains(connection).broken == []


def test_migrations_run_as_the_owner_when_migration_database_url_is_set(tmp_path: Path) -> None:
    owner_db, app_db = tmp_path / "owner.db", tmp_path / "app.db"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "UPLOAD_DIR": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{app_db}",
            "MIGRATION_DATABASE_URL": f"sqlite:///{owner_db}",
        }
    )
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        assert "workflow_events" not in inspect(db.engine).get_table_names()
        db.engine.dispose()
    owner = create_engine(f"sqlite:///{owner_db}")
    assert "workflow_events" in inspect(owner).get_table_names()
    owner.dispose()
