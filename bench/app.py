"""The app as the bench's own process uses it: built from the factory, migrated by Alembic."""

from flask import Flask
from flask_migrate import upgrade

from bench.databases import MIGRATIONS, Database, app_config, reset
from webapp import create_app


def bench_app(database: Database) -> Flask:
    return create_app(app_config(database))


def fresh_app(database: Database) -> Flask:
    """An empty database brought to the current schema, and an app on it."""
    reset(database)
    # TESTING only keeps Alembic from configuring logging (migrations/env.py).
    migrator = create_app({**app_config(database), "TESTING": True})
    with migrator.app_context():
        upgrade(directory=str(MIGRATIONS))
    return bench_app(database)
