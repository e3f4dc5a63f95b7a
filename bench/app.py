"""The app as the bench's own process uses it: built from the factory, migrated by Alembic."""

from flask import Flask
from flask_migrate import upgrade

from bench.databases import MIGRATIONS, Database, app_config, reset
from webapp import create_app
from webapp.extensions import db


def bench_app(database: Database, settings: dict[str, object] | None = None) -> Flask:
    return create_app({**app_config(database), **(settings or {})})


def migrated_app(database: Database, settings: dict[str, object] | None = None) -> Flask:
    """The database, kept as it is, brought to the current schema, and an app on it."""
    # TESTING only keeps Alembic from configuring logging (migrations/env.py).
    migrator = create_app({**app_config(database), **(settings or {}), "TESTING": True})
    with migrator.app_context():
        upgrade(directory=str(MIGRATIONS))
        db.engine.dispose()
    return bench_app(database, settings)


def fresh_app(database: Database, settings: dict[str, object] | None = None) -> Flask:
    """An empty database brought to the current schema, and an app on it."""
    reset(database)
    return migrated_app(database, settings)
