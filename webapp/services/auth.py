"""People and their credentials."""

import hashlib
import secrets

from flask import current_app
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import lazyload
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.engine.errors import Conflict, Invalid, NotFound
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import ApiToken, User
from webapp.persistence.transaction import transactional

TOKEN_PREFIX = "mf_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(email: str, password: str) -> User | None:
    """The active person these credentials name, or None. A password is hashed whether
    the account exists or not, so the answer takes the same time either way."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    stored = user.password_hash if user is not None else _stand_in_hash()
    matches = check_password_hash(stored, password)
    if user is None or not user.active or not matches:
        return None
    return user


_STAND_IN: dict[str, str] = {}


def _stand_in_hash() -> str:
    """A hash of a random password, made with the configured method (and so its cost)."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _STAND_IN:
        _STAND_IN[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _STAND_IN[method]


# The active user a token belongs to; the firm loads only when asked for.
_TOKEN_USER = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), User.active)
    .options(lazyload(User.org))
)


def user_for_token(token: str) -> User | None:
    return db.session.scalar(_TOKEN_USER, {"token_hash": hash_token(token)})


@transactional
def create_token(email: str, name: str = "api") -> str:
    """Only the hash is stored; the token is shown once."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise NotFound(f"No user with email {email!r}.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), name=name))
    return token


def new_user(org_id: int, email: str, name: str, role: str, password: str) -> User:
    """Flush-only helper for seeding and the create-user command."""
    if role not in Role.__members__:
        raise Invalid(f"Unknown role {role!r}.")
    if len(password) < 8:
        raise Invalid("Passwords need at least 8 characters.")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        raise Conflict(f"A user with email {email!r} already exists.")
    user = User(
        org_id=org_id,
        email=email.lower(),
        name=name,
        role=role,
        password_hash=generate_password_hash(
            password, method=current_app.config["PASSWORD_HASH_METHOD"]
        ),
        active=True,
    )
    db.session.add(user)
    db.session.flush()
    return user


@transactional
def create_user(org_id: int, email: str, name: str, role: str, password: str) -> User:
    return new_user(org_id, email, name, role, password)
