"""A firm's secrets: written encrypted, read back only where a call needs the value
(the worker at call time, a provider adapter). Nothing here returns a value to a person:
admins list names and dates, set a value, delete a secret; each is audited by name."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from webapp.adapters import cipher
from webapp.engine.errors import Conflict, NotAllowed, NotFound, Unprocessable
from webapp.engine.roles import Role
from webapp.engine.secret_refs import NAME_RE
from webapp.extensions import db
from webapp.models import Secret, User
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import transactional

MAX_VALUE = 10_000
NAME_RULE = (
    "A secret's name is capital letters, digits and underscores, starting with a letter "
    "(e.g. API_TOKEN), up to 100 characters."
)


def store(org_id: int, name: str, value: str, by_user_id: int | None = None) -> Secret:
    """Adds or replaces the firm's secret of that name (inside the caller's transaction)."""
    secret = db.session.scalar(select(Secret).where(Secret.org_id == org_id, Secret.name == name))
    if secret is None:
        secret = Secret(org_id=org_id, name=name, created_by_id=by_user_id)
        db.session.add(secret)
    secret.ciphertext = cipher.encrypt(value)
    db.session.flush()
    return secret


def reveal(org_id: int, name: str) -> str | None:
    """The value, or None when the firm has no secret of that name."""
    ciphertext = db.session.scalar(
        select(Secret.ciphertext).where(Secret.org_id == org_id, Secret.name == name)
    )
    return None if ciphertext is None else cipher.decrypt(ciphertext)


# ---- the admins' door ---------------------------------------------------------------------


def require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise NotAllowed("Only an admin can see and change the firm's secrets.")


def list_secrets(actor: User) -> list[Secret]:
    require_admin(actor)
    query = select(Secret).where(Secret.org_id == actor.org_id).order_by(Secret.name)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class SecretChanged:
    secret: Secret
    created: bool


@transactional
def put_secret(actor: User, name: str, value: str) -> SecretChanged:
    """Set a secret's value (a new secret, or a new value for one of that name)."""
    require_admin(actor)
    name, value = _checked_name(name), _checked_value(value)
    existed = _find(actor.org_id, name) is not None
    try:
        secret = store(actor.org_id, name, value, actor.id)
    except cipher.CipherUnavailable as error:
        raise Conflict(f"The secret cannot be stored: {error}") from None
    event = "secret.updated" if existed else "secret.created"
    record_event(org_id=actor.org_id, event_type=event, actor_id=actor.id, payload={"name": name})
    return SecretChanged(secret, created=not existed)


@dataclass(frozen=True)
class Deleted:
    """What a deleted secret was, for the answer (the row is gone)."""

    name: str
    created_at: datetime
    updated_at: datetime


@transactional
def delete_secret(actor: User, name: str) -> Deleted:
    require_admin(actor)
    secret = _find(actor.org_id, name)
    if secret is None:
        raise NotFound(f"The secret {name} was not found.")
    deleted = Deleted(secret.name, secret.created_at, secret.updated_at)
    db.session.delete(secret)
    record_event(
        org_id=actor.org_id, event_type="secret.deleted", actor_id=actor.id, payload={"name": name}
    )
    return deleted


def _find(org_id: int, name: str) -> Secret | None:
    return db.session.scalar(select(Secret).where(Secret.org_id == org_id, Secret.name == name))


def _checked_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_RE.match(name) or len(name) > 100:
        raise Unprocessable(NAME_RULE, [{"field": "name", "message": NAME_RULE}])
    return name


def _checked_value(value: str) -> str:
    if not value or len(value) > MAX_VALUE or "\x00" in value:
        message = f"Give the secret a value of 1 to {MAX_VALUE} characters."
        raise Unprocessable(message, [{"field": "value", "message": message}])
    return value


# ---- keys: the operators' commands ---------------------------------------------------------


def check_keys() -> None:
    """Raises cipher.CipherUnavailable (naming MATTERFLOW_SECRET_KEYS) when a stored secret
    does not open with the keys: a worker started with the wrong key says so at once
    instead of failing each step that needs a secret."""
    try:
        ciphertext = db.session.scalar(select(Secret.ciphertext).order_by(Secret.id).limit(1))
    finally:
        # End the read: a transaction left open here would hold its lock on `secrets` for
        # the worker's whole life (a TRUNCATE, a migration would wait on it).
        db.session.rollback()
    if ciphertext is not None:
        cipher.decrypt(ciphertext)


@transactional
def rotate_keys() -> int:
    """Re-encrypt every secret of every firm with the first key; how many were."""
    count = 0
    for secret in db.session.scalars(select(Secret).order_by(Secret.id).with_for_update()):
        secret.ciphertext = cipher.rotate(secret.ciphertext)
        count += 1
    return count
