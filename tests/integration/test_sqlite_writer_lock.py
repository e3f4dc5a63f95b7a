"""SQLite writers queue on a file lock that every end of a transaction releases."""

import threading
from collections.abc import Callable

import pytest
from flask import Flask

from webapp.engine.errors import Invalid
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, User
from webapp.persistence.transaction import transactional
from webapp.services import matters


@pytest.fixture
def lawyer_id(app, dialect, make_org, make_user):
    if dialect != "sqlite":
        pytest.skip("the writer lock is SQLite's")
    return make_user(make_org("Lock Firm"), Role.LAWYER).id


def in_thread(app: Flask, work: Callable[[User], None]) -> threading.Thread:
    """`work` runs with the lawyer in a session (and a database connection) of its own."""

    def run() -> None:
        with app.app_context():
            work(db.session.scalar(db.select(User).where(User.role == Role.LAWYER)))
            db.session.remove()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def create(reference: str) -> Callable[[User], None]:
    return lambda user: matters.create_matter(user, reference, "Written from a thread")


def references() -> set[str]:
    db.session.commit()
    return set(db.session.scalars(db.select(Matter.reference)))


def test_a_writer_waits_for_the_one_holding_the_lock_then_goes_on(app, lawyer_id):
    started, finish = threading.Event(), threading.Event()

    @transactional
    def slow_write(user: User) -> None:
        matters.create_matter(user, "LOCK-1", "Held while the other waits")
        started.set()
        finish.wait(5)

    holder = in_thread(app, slow_write)
    assert started.wait(5)
    waiter = in_thread(app, create("LOCK-2"))
    waiter.join(0.3)
    assert waiter.is_alive(), "the second writer waits for the first"
    finish.set()
    holder.join(5)
    waiter.join(5)
    assert not waiter.is_alive()
    assert {"LOCK-1", "LOCK-2"} <= references()


def test_a_failed_write_releases_the_lock_for_the_next_writer(app, lawyer_id):
    @transactional
    def failing_write(user: User) -> None:
        matters.create_matter(user, "LOCK-3", "Rolled back")
        raise Invalid("refused on purpose")

    with pytest.raises(Invalid):
        failing_write(db.session.get(User, lawyer_id))
    db.session.execute(db.select(User.id))  # keeps that connection: the waiter takes another
    waiter = in_thread(app, create("LOCK-4"))
    waiter.join(5)
    assert not waiter.is_alive(), "the rolled-back transaction left the writer lock held"
    assert "LOCK-4" in references()
    assert "LOCK-3" not in references()
