"""Matterflow: a workflow engine for law firms."""

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from webapp.config import Config
from webapp.observability import register_observability


class DatabaseId(IntegerConverter):
    """An id larger than a database integer names no row: it reaches the view as 0, which
    no row has, so it answers 404 like any missing row (not an overflow; and not the 405
    werkzeug gives when a converter refuses a value for some of a path's methods)."""

    LARGEST = 2**31 - 1

    def to_python(self, value: str) -> int:
        number = int(super().to_python(value))
        return number if number <= self.LARGEST else 0


def create_app(config: type | dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_object(Config)
    app.url_map.converters["int"] = DatabaseId
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    register_protection(app)
    register_extensions(app)
    register_observability(app)
    register_blueprints(app)
    register_commands(app)
    register_worker(app)
    if app.config["FREEZE_HEAP"] and not app.testing:
        freeze_heap()
    return app


def freeze_heap() -> None:
    """Moves what start-up made (modules, the app, its routes, compiled rules) out of the
    collector's sight: a full collection otherwise walks all of it again, and on a page
    that makes many objects (the builder of a 400-step template) that cost 90 ms every
    few requests, the whole of the page's p95."""
    import gc

    gc.collect()
    gc.freeze()


def register_extensions(app: Flask) -> None:
    from webapp.auth import register_auth
    from webapp.extensions import csrf, db, migrate
    from webapp.persistence import faults

    ensure_sqlite_directory(app.config["SQLALCHEMY_DATABASE_URI"])
    db.init_app(app)
    faults.install(app)  # after db.init_app: its teardown runs first
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    register_auth(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            from webapp.persistence.transaction import configure_sqlite

            configure_sqlite(db.engine)


def register_protection(app: Flask) -> None:
    """Rate limits, headers, cookies and sessions: see webapp/security/."""
    from webapp.security import register_security

    register_security(app)


def register_blueprints(app: Flask) -> None:
    from webapp.api import register_api
    from webapp.input_guard import register_input_guard
    from webapp.services import wall_hits
    from webapp.web import register_web

    register_input_guard(app)
    register_api(app)
    register_web(app)
    wall_hits.register(app)  # the evidence of refused attempts, after each response


def register_commands(app: Flask) -> None:
    from webapp.cli import register_cli

    register_cli(app)


def register_worker(app: Flask) -> None:
    """The embedded outbox worker thread (EMBEDDED_WORKER): see webapp/worker.py."""
    import os

    import click
    from flask.helpers import get_debug_flag

    from webapp.worker import embedded_worker_wanted, start_embedded_worker

    ctx = click.get_current_context(silent=True)
    command = ctx.info_name if ctx is not None else None
    reload = ctx.params.get("reload") if ctx is not None else None
    wanted = embedded_worker_wanted(
        enabled=app.config["EMBEDDED_WORKER"],
        testing=app.testing,
        command=command,
        reloading=get_debug_flag() if reload is None else bool(reload),
        reloader_child=os.environ.get("WERKZEUG_RUN_MAIN") == "true",
        explicitly_enabled=app.config["EMBEDDED_WORKER_EXPLICIT"],
    )
    if wanted:
        start_embedded_worker(app)


def ensure_sqlite_directory(url: str) -> None:
    """A fresh checkout has no instance/ folder; SQLite cannot create it itself."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
