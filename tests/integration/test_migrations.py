"""The Alembic chain builds the schema the models describe, tears it down to nothing and
builds it again, on a fresh SQLite file and a fresh PostgreSQL schema (never the database
the rest of the run shares)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from tests.conftest import DATABASES, TEST_SECRET_KEY, postgres_run_url
from webapp import create_app
from webapp.extensions import db

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")
SCHEMA = "life_migrations_check"
GIN_INDEXES = {
    "ix_workflow_instances_context_gin",
    "ix_workflow_instances_step_data_gin",
    "ix_instance_steps_action_data_gin",
    "ix_workflow_events_payload_gin",
    "ix_matters_search_trgm",  # matter search: a trigram index (pg_trgm)
}
# Tables a trigger keeps: the audit tables (no UPDATE, DELETE or TRUNCATE), step attempts
# and dead letters (migration 0011).
APPEND_ONLY = {"workflow_events", "instance_changes", "step_attempts", "jobs"}


def postgres_schema(action: str) -> None:
    engine = create_engine(postgres_run_url())
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        if action == "create":
            connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()


@pytest.fixture(params=DATABASES)
def fresh_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test",
        "WEBHOOK_SECRET": "test-webhook",
        "MATTERFLOW_SECRET_KEYS": [TEST_SECRET_KEY],
        "UPLOAD_DIR": str(tmp_path),
    }
    if request.param == "sqlite":
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        postgres_schema("create")
        config["SQLALCHEMY_DATABASE_URI"] = postgres_run_url()
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"options": f"-csearch_path={SCHEMA}"}
        }
    app = create_app(config)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if request.param == "postgresql":
        postgres_schema("drop")


def tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def schema_differences() -> list:
    """What autogenerate would still write: nothing, when models and migrations agree.
    The GIN indexes (JSONB and trigram) are created in SQL by the migrations and unknown
    to the models."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    return [d for d in differences if not (d[0] == "remove_index" and d[1].name in GIN_INDEXES)]


def postgres_extras() -> tuple[set[str], set[str]]:
    with db.engine.connect() as connection:
        indexes = set(
            connection.scalars(
                text("SELECT indexname FROM pg_indexes WHERE schemaname = :s"), {"s": SCHEMA}
            )
        )
        triggered = set(
            connection.scalars(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = :s AND NOT t.tgisinternal"
                ),
                {"s": SCHEMA},
            )
        )
    return indexes & GIN_INDEXES, triggered


def test_alembic_chain_upgrades_downgrades_and_upgrades_again_when_run_on_a_fresh_database(
    fresh_app,
):
    model_tables = set(db.metadata.tables)
    postgres = db.engine.dialect.name == "postgresql"

    upgrade(directory=MIGRATIONS)
    assert tables() == model_tables
    assert schema_differences() == []
    if postgres:
        assert postgres_extras() == (GIN_INDEXES, APPEND_ONLY)

    downgrade(directory=MIGRATIONS, revision="base")
    assert tables() == set()
    if postgres:
        assert postgres_extras() == (set(), set())

    upgrade(directory=MIGRATIONS)
    assert tables() == model_tables
    assert schema_differences() == []
    if postgres:
        assert postgres_extras() == (GIN_INDEXES, APPEND_ONLY)
