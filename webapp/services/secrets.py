"""A firm's secrets: written encrypted, read back only where a call needs the value
(the worker at call time, a provider adapter). Nothing here returns a value to a person."""

from sqlalchemy import select

from webapp.adapters import cipher
from webapp.extensions import db
from webapp.models import Secret


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
