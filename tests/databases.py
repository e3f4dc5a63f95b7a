"""Which databases the suite runs on: SQLite always, PostgreSQL whenever it answers.

On PostgreSQL every run gets a database of its own, named for the run, created on the
server `TEST_POSTGRES_URL` names and dropped when the run ends: two runs on one
machine (two developers, a developer and CI, two helpers) never share tables."""

import os
import secrets

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RUN_PREFIX = "matterflow_test_run_"


def postgres_reachable(url: str = PG_URL) -> bool:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def available_databases() -> list[str]:
    names = ["sqlite"]
    if os.environ.get("TEST_SKIP_POSTGRES") != "1" and postgres_reachable():
        names.append("postgresql")
    return names


def _server_statement(sql: str) -> None:
    """CREATE and DROP DATABASE run outside a transaction, from the server's own URL."""
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(sql))
    engine.dispose()


def create_run_database() -> URL:
    name = f"{RUN_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    _server_statement(f'CREATE DATABASE "{name}"')
    return make_url(PG_URL).set(database=name)


def drop_run_database(url: URL) -> None:
    if url.database and url.database.startswith(RUN_PREFIX):
        _server_statement(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def reset_postgres_schema(url: str | URL) -> None:
    """Start from an empty schema so the Alembic chain itself builds the tables."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def describe(url: str) -> str:
    parsed = make_url(url)
    return f"{parsed.get_backend_name()} ({parsed.database}, a database of its own per run)"
