"""Probes for whoever runs the app: `/health` says the process answers (liveness: it never
asks the database, so a database outage does not get every server restarted);
`/health/ready` says it can do its work — the database answers, its schema is the one this
code expects, and a worker has been seen lately — and answers 503 naming what is not."""

import functools
from typing import Any

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask import Flask, current_app, jsonify
from sqlalchemy import text

from webapp.extensions import db
from webapp.persistence import faults
from webapp.services.clock import now as clock_now
from webapp.services.heartbeats import workers_alive


@functools.cache
def code_revision() -> str | None:
    """The newest migration this code carries (in the folder Flask-Migrate was given)."""
    config = AlembicConfig()
    config.set_main_option("script_location", current_app.extensions["migrate"].directory)
    return ScriptDirectory.from_config(config).get_current_head()


def _database() -> dict[str, Any]:
    revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    expected = code_revision()
    return {
        "database": {"ok": True},
        "migrations": {"ok": revision == expected, "database": revision, "code": expected},
    }


def _worker() -> dict[str, Any]:
    max_age = current_app.config["WORKER_HEARTBEAT_MAX_AGE"]
    if max_age <= 0:
        return {"ok": True, "required": False}
    seen = workers_alive(clock_now(), max_age)
    return {
        "ok": seen.alive > 0,
        "alive": seen.alive,
        "lastSeenSeconds": None
        if seen.last_seen_seconds is None
        else round(seen.last_seen_seconds, 1),
        "maxAgeSeconds": max_age,
    }


def readiness() -> dict[str, Any]:
    try:
        return {**_database(), "worker": _worker()}
    except Exception as error:
        if not faults.database_fault(error):
            raise
        faults.drop_session()
        return {"database": {"ok": False, "error": "The database does not answer."}}


def register_health(app: Flask) -> None:
    @app.get("/health")
    def health() -> Any:
        return jsonify({"status": "ok"})

    @app.get("/health/ready")
    def ready() -> Any:
        checks = readiness()
        ok = all(check["ok"] for check in checks.values())
        return jsonify({"status": "ready" if ok else "not_ready", "checks": checks}), (
            200 if ok else 503
        )
