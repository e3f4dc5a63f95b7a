"""One-use form tokens: a form or HTMX request that changes something records its token
in the same commit as the change, so the same token sent again changes nothing.

The web layer names the token of the request (`expect`); the first commit of that
request that writes something also inserts the token (`INSERT … ON CONFLICT DO
NOTHING`). When another request with the same token committed first, the insert does
nothing and the whole transaction is rolled back with `AlreadyDone` — on PostgreSQL the
insert waits for the concurrent transaction, on SQLite writers are queued: either way one
change wins."""

from collections.abc import Callable
from typing import Any

from flask import g, has_request_context
from sqlalchemy import event, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session

from webapp.engine.errors import DomainError
from webapp.extensions import db
from webapp.models import FormToken, User
from webapp.models.base import utcnow
from webapp.persistence.transaction import transactional

WROTE = "form_token_wrote"


class AlreadyDone(DomainError):
    """The request's token was used by an earlier request: nothing of this one is kept."""

    code = "already_done"

    def __init__(self, token: str) -> None:
        super().__init__("This was already done; nothing was changed again.", {"token": token})
        self.token = token


def find(user: User, token: str) -> FormToken | None:
    row = db.session.get(FormToken, token)
    return row if row is not None and row.user_id == user.id else None


def expect(user_id: int, token: str, path: str) -> None:
    """Record `token` with the first change this request commits."""
    g.form_token_pending = (user_id, token, path)


def recorded() -> str | None:
    """The token this request recorded with its change, if it made one."""
    return g.get("form_token_recorded")


@transactional
def remember_answer(token: str, status: int, location: str | None) -> None:
    """What the first request answered, so a replay answers the same."""
    db.session.execute(
        update(FormToken)
        .where(FormToken.token == token)
        .values(status=status, location=(location or "")[:1000] or None)
    )


def _insert(session: Session, user_id: int, token: str, path: str) -> bool:
    """Whether the token was new (an insert that met an existing row did nothing)."""
    values = {
        "token": token,
        "user_id": user_id,
        "path": path[:500],
        "created_at": utcnow(),
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(FormToken).values(**values).on_conflict_do_nothing()
    return session.execute(statement.returning(FormToken.token)).first() is not None


def _record_with_the_change(session: Session) -> None:
    if not has_request_context() or not session.info.get(WROTE):
        return
    pending = g.get("form_token_pending")
    if not pending:
        return
    g.form_token_pending = None
    user_id, token, path = pending
    if not _insert(session, user_id, token, path):
        raise AlreadyDone(token)
    g.form_token_recorded = token


def _note_flush(session: Session, _context: Any) -> None:
    if session.new or session.dirty or session.deleted:
        session.info[WROTE] = True


def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(WROTE, None)


_LISTENERS: list[tuple[str, Callable[..., None]]] = [
    ("before_commit", _record_with_the_change),
    ("after_flush", _note_flush),
    ("do_orm_execute", _note_statement),
    ("after_commit", _forget),
    ("after_rollback", _forget),
]


def listen() -> None:
    """Attach the hooks to the session class once (every app shares it)."""
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
