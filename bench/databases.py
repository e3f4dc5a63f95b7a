"""The databases a bench run uses: a fresh SQLite file, and PostgreSQL when one answers.

PostgreSQL comes from BENCH_POSTGRES_URL, or else the database `matterflow_bench` on the
default local server, created when missing. The bench empties that database on every run,
so it refuses one whose name does not say it is for benchmarks or tests."""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

MAINTENANCE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE = "matterflow_bench"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass(frozen=True)
class Database:
    name: str  # "sqlite" or "postgresql"
    url: str

    @property
    def label(self) -> str:
        return "SQLite" if self.name == "sqlite" else "PostgreSQL"


@dataclass(frozen=True)
class Unavailable:
    name: str
    reason: str


def sqlite_database(folder: Path | None = None) -> Database:
    folder = folder or Path(tempfile.mkdtemp(prefix="matterflow-bench-"))
    return Database("sqlite", f"sqlite:///{folder / 'bench.db'}")


def postgres_database() -> Database | Unavailable:
    explicit = os.environ.get("BENCH_POSTGRES_URL")
    if explicit:
        url = make_url(explicit)
        problem = _unsafe(url) or _unreachable(url)
        if problem:
            return Unavailable("postgresql", problem)
        return Database("postgresql", url.render_as_string(hide_password=False))
    maintenance = make_url(MAINTENANCE_URL)
    problem = _unreachable(maintenance)
    if problem:
        return Unavailable(
            "postgresql",
            f"no PostgreSQL server answers at {maintenance.host}:{maintenance.port} ({problem}); "
            "set BENCH_POSTGRES_URL to use another one",
        )
    problem = _create_if_missing(maintenance, DEFAULT_DATABASE)
    if problem:
        return Unavailable("postgresql", f"could not create {DEFAULT_DATABASE}: {problem}")
    url = maintenance.set(database=DEFAULT_DATABASE)
    return Database("postgresql", url.render_as_string(hide_password=False))


def _unsafe(url: URL) -> str | None:
    name = (url.database or "").lower()
    if "bench" in name or "test" in name:
        return None
    return (
        f"refusing to use database {url.database!r}: the bench empties it, so its name must "
        "contain 'bench' or 'test'"
    )


def _unreachable(url: URL) -> str | None:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except Exception as error:  # any failure to connect means "skip PostgreSQL"
        return str(error).strip().splitlines()[0][:200]
    finally:
        engine.dispose()


def _create_if_missing(maintenance: URL, name: str) -> str | None:
    engine = create_engine(maintenance, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        return None
    except Exception as error:  # e.g. no CREATEDB right: skip PostgreSQL, say why
        return str(error).strip().splitlines()[0][:200]
    finally:
        engine.dispose()


def reset(database: Database) -> None:
    """An empty database, then the Alembic chain, exactly as a deployment builds it."""
    if database.name == "postgresql":
        engine = create_engine(database.url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        path = Path(make_url(database.url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


# A fixed Fernet key: on PostgreSQL the app refuses to start without one.
BENCH_SECRET_KEY = "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktYmU="


def app_config(database: Database) -> dict[str, object]:
    """The settings every bench process gives the app (the server's come from env)."""
    return {
        "SQLALCHEMY_DATABASE_URI": database.url,
        "SECRET_KEY": "bench-secret",
        "WEBHOOK_SECRET": "bench-webhook-secret",
        "MATTERFLOW_SECRET_KEYS": [BENCH_SECRET_KEY],
        "RATELIMIT_ENABLED": False,
        "EMBEDDED_WORKER": False,
        "NOTIFICATIONS_ENABLED": False,
    }


def server_environment(database: Database) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database.url,
            "SECRET_KEY": "bench-secret",
            "WEBHOOK_SECRET": "bench-webhook-secret",
            "MATTERFLOW_SECRET_KEYS": BENCH_SECRET_KEY,
            # The bench measures the engine under load: a rate limit would measure itself.
            "RATELIMIT_ENABLED": "false",
            "EMBEDDED_WORKER": "false",
            "NOTIFICATIONS_ENABLED": "false",
        }
    )
    return env


BIG_SQLITE = Path(__file__).resolve().parent.parent / "bench-results" / "bigfirm.sqlite"


def big_database(database: Database) -> Database | Unavailable:
    """Where section (e) keeps its big firm between runs: the file bench-results/
    bigfirm.sqlite, or on PostgreSQL's server a database named like the bench's own with
    `_big` after it (`matterflow_bench_big` by default), created when missing. (e) never
    shares the database the other sections empty on every run."""
    if database.name == "sqlite":
        BIG_SQLITE.parent.mkdir(parents=True, exist_ok=True)
        return Database("sqlite", f"sqlite:///{BIG_SQLITE}")
    url = make_url(database.url)
    name = f"{url.database}_big"
    problem = _create_if_missing(url.set(database="postgres"), name)
    if problem:
        return Unavailable("postgresql", f"could not create {name}: {problem}")
    return Database("postgresql", url.set(database=name).render_as_string(hide_password=False))
