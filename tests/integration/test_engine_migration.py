"""Migrations 0002 (worker attempts) and 0003 (step index) go down and up again on both
databases."""

from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from webapp.extensions import db
from webapp.models import Job

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")


def schema() -> tuple[set[str], set[str]]:
    inspector = inspect(db.engine)
    return set(inspector.get_table_names()), {c["name"] for c in inspector.get_columns("jobs")}


def test_worker_migration_downgrades_and_upgrades_when_jobs_exist(app):
    db.session.add(Job(kind="notify.step_ready", payload={"stepId": 1}, org_id=1))
    db.session.commit()
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="0001")
    tables, columns = schema()
    assert "step_attempts" not in tables
    assert "instance_id" not in columns
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT kind FROM jobs")).scalars().all() == [
            "notify.step_ready"
        ]
    upgrade(directory=MIGRATIONS)
    tables, columns = schema()
    assert "step_attempts" in tables
    assert "instance_id" in columns
    indexes = {i["name"] for i in inspect(db.engine).get_indexes("jobs")}
    assert {"ix_jobs_instance_id", "ix_jobs_status_locked_until"} <= indexes


def step_indexes() -> set[str]:
    return {i["name"] for i in inspect(db.engine).get_indexes("instance_steps")}


def test_step_index_gains_the_order_column_and_loses_it_again_when_migrated(app):
    db.session.remove()
    assert "ix_instance_steps_instance_state_order" in step_indexes()
    downgrade(directory=MIGRATIONS, revision="0002")
    assert "ix_instance_steps_instance_state" in step_indexes()
    assert "ix_instance_steps_instance_state_order" not in step_indexes()
    upgrade(directory=MIGRATIONS)
    assert "ix_instance_steps_instance_state_order" in step_indexes()
    assert "ix_instance_steps_instance_state" not in step_indexes()
