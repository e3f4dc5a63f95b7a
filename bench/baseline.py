"""The reference point for (a): a bare Flask + SQLAlchemy ORM endpoint doing what a
transition must do at the least — read one row, update it, insert an audit row and an
outbox row, commit once — under the same gunicorn and load as the engine.

Served as `gunicorn 'bench.baseline:create_app()'` with DATABASE_URL set."""

import os
from datetime import UTC, datetime
from typing import Any

from flask import Flask, abort, jsonify, request
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "baseline_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="READY")
    counter: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ItemEvent(Base):
    __tablename__ = "baseline_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("baseline_items.id"))
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ItemJob(Base):
    __tablename__ = "baseline_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="PENDING")
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def make_engine(url: str) -> Engine:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        _immediate_transactions(engine)
    return engine


def _immediate_transactions(engine: Engine) -> None:
    """The same SQLite settings as the app: WAL, a busy timeout, BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_tables(url: str, items: int) -> list[int]:
    """The baseline's tables, beside the app's, with `items` rows to update."""
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        rows = [Item(state="READY", counter=0, updated_at=now) for _ in range(items)]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
    engine.dispose()
    return ids


def create_app() -> Flask:
    app = Flask(__name__)
    sessions = sessionmaker(make_engine(os.environ["DATABASE_URL"]), expire_on_commit=False)

    @app.get("/health")
    def health() -> Any:
        return jsonify({"status": "ok"})

    @app.post("/items/<int:item_id>/complete")
    def complete(item_id: int) -> Any:
        payload = request.get_json(silent=True) or {}
        now = datetime.now(UTC)
        with sessions() as session, session.begin():
            item = session.get(Item, item_id)
            if item is None:
                abort(404)
            item.counter += 1
            item.updated_at = now
            session.add(
                ItemEvent(
                    item_id=item.id, event_type="item.completed", payload=payload, created_at=now
                )
            )
            session.add(ItemJob(kind="item.notify", payload={"itemId": item.id}, run_at=now))
        return jsonify({"id": item.id, "counter": item.counter, "state": item.state})

    return app
