"""Which databases the suite runs on: SQLite always, PostgreSQL whenever it answers."""

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


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


def reset_postgres_schema(url: str) -> None:
    """Start from an empty schema so the Alembic chain itself builds the tables."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def describe(url: str) -> str:
    parsed = make_url(url)
    return f"{parsed.get_backend_name()} ({parsed.database})"
