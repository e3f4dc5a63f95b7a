"""People's credentials: passwords, and personal API tokens that expire, are revoked and
remember when they were last used. Token changes go through one door,
`perform_token(actor, token_id, command)`, each audited in the same transaction."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, bindparam, func, or_, select, update
from sqlalchemy.orm import lazyload
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.engine.errors import Conflict, Invalid, NotFound, Unprocessable
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import ApiToken, User
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import transactional
from webapp.services.clock import now

TOKEN_PREFIX = "mf_"
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 365
# A burst of calls with one token writes its last use once, not once per call.
TOUCH_EVERY = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The active person these credentials name, or None. A password is hashed whether
    the account exists or not, so the answer takes the same time either way."""
    user = user_by_email(email)
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


# ---- tokens: who a bearer token is --------------------------------------------------------

# The active user a live token belongs to, with the token's id and last use; the firm
# loads only when asked for.
_TOKEN_USER = (
    select(User, ApiToken.id, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        User.active,
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > bindparam("now")),
    )
    .options(lazyload(User.org))
)


def user_for_token(token: str) -> User | None:
    """The person a token speaks for, or None when it is unknown, expired or revoked, or
    its owner is deactivated: checked on every request, so a change counts at once."""
    moment = now()
    row = db.session.execute(_TOKEN_USER, {"token_hash": hash_token(token), "now": moment}).first()
    if row is None:
        return None
    user, token_id, last_used = row
    if last_used is None or moment - last_used >= TOUCH_EVERY:
        touch_token(token_id, moment)
    return user


@transactional
def touch_token(token_id: int, moment: datetime) -> None:
    """Record a use; two requests of the same minute race to one write, not two."""
    db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= moment - TOUCH_EVERY),
        )
        .values(last_used_at=moment)
        .execution_options(synchronize_session=False)
    )


# ---- tokens: the door ---------------------------------------------------------------------


@dataclass(frozen=True)
class CreateToken:
    name: str
    expires_in_days: int | None = DEFAULT_TOKEN_DAYS  # None: it never expires


@dataclass(frozen=True)
class RevokeToken:
    pass


TokenCommand = CreateToken | RevokeToken


@dataclass(frozen=True)
class TokenChanged:
    token: ApiToken
    secret: str | None = None  # a new token's value: shown this once, never stored


@transactional
def perform_token(actor: User, token_id: int | None, command: TokenCommand) -> TokenChanged:
    """Anyone creates and revokes their own tokens; an admin revokes any of the firm's.
    A token of another person (or firm) is not found."""
    match command:
        case CreateToken(name=name, expires_in_days=days):
            return _create(actor, actor, name, days)
        case RevokeToken():
            return _revoke(actor, _load(actor, token_id, for_update=True))
    raise Invalid("Unknown change of a token.")


def _load(actor: User, token_id: int | None, for_update: bool = False) -> ApiToken:
    query: Select = visible_tokens(actor, everyone=actor.is_admin).where(ApiToken.id == token_id)
    if for_update:
        query = query.with_for_update(of=ApiToken)
    token = db.session.scalar(query) if token_id is not None else None
    if token is None:
        raise NotFound(f"Token {token_id} was not found.")
    return token


def _checked_name(name: str) -> str:
    name = (name or "").strip(" \t")  # the API document's pattern allows no more
    if not name or "\n" in name or "\r" in name or len(name) > 100:
        message = "Give the token a name on one line, up to 100 characters."
        raise Unprocessable(message, [{"field": "name", "message": message}])
    return name


def _checked_days(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        message = f"A token expires after 1 to {MAX_TOKEN_DAYS} days."
        raise Unprocessable(message, [{"field": "expiresInDays", "message": message}])
    return days


def _create(
    actor: User | None, owner: User, name: str, days: int | None, audited: bool = True
) -> TokenChanged:
    name, days = _checked_name(name), _checked_days(days)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    moment = now()
    token = ApiToken(
        user_id=owner.id,
        token_hash=hash_token(secret),
        name=name,
        created_at=moment,
        expires_at=moment + timedelta(days=days) if days else None,
    )
    db.session.add(token)
    db.session.flush()
    expires = token.expires_at.isoformat() if token.expires_at else None
    if audited:
        _audit(actor, owner, token, "token.created", {"name": name, "expiresAt": expires})
    return TokenChanged(token, secret)


def _revoke(actor: User, token: ApiToken) -> TokenChanged:
    if token.revoked_at is not None:
        return TokenChanged(token)  # revoking twice changes nothing
    token.revoked_at = now()
    _audit(actor, token.user, token, "token.revoked", {"name": token.name})
    return TokenChanged(token)


def _audit(
    actor: User | None, owner: User, token: ApiToken, event_type: str, payload: dict
) -> None:
    record_event(
        org_id=owner.org_id,
        event_type=event_type,
        actor_id=actor.id if actor else None,
        payload={"tokenId": token.id, "userId": owner.id, **payload},
    )


def visible_tokens(actor: User, everyone: bool = False) -> Select:
    """The actor's own tokens; with `everyone` (admins), every token of their firm."""
    query = select(ApiToken).join(User, ApiToken.user_id == User.id)
    if everyone:
        return query.where(User.org_id == actor.org_id)
    return query.where(ApiToken.user_id == actor.id)


def list_tokens(
    actor: User, everyone: bool = False, limit: int = 50, offset: int = 0
) -> tuple[list[ApiToken], int]:
    """Newest first. `everyone` is for admins only (the caller checks)."""
    query = visible_tokens(actor, everyone)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(ApiToken.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def token_state(token: ApiToken, moment: datetime | None = None) -> str:
    """active, expired or revoked: what a list shows of a token."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= (moment or now()):
        return "expired"
    return "active"


@transactional
def create_token(
    email: str, name: str = "api", expires_in_days: int | None = None, audited: bool = False
) -> str:
    """A token for EMAIL (by default one that never expires); only the hash is stored and
    the token is shown once. The create-token command asks for an audit row; seeds,
    benchmarks and tests call it as a plain helper, as they call `new_user`."""
    user = user_by_email(email)
    if user is None:
        raise NotFound(f"No user with email {email!r}.")
    changed = _create(None, user, name, expires_in_days, audited)
    assert changed.secret is not None
    return changed.secret


# ---- people -------------------------------------------------------------------------------


def new_user(org_id: int, email: str, name: str, role: str, password: str) -> User:
    """Flush-only helper for the demo seed and tests, whose known demo password is set
    here without the password policy (services/passwords.py), which every password a
    person chooses goes through."""
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
        password_hash=hash_password(password),
        active=True,
    )
    db.session.add(user)
    db.session.flush()
    return user


@transactional
def create_user(org_id: int, email: str, name: str, role: str, password: str) -> User:
    """The create-user command: the password policy applies, as everywhere a person
    chooses a password."""
    from webapp.services.passwords import check_password

    check_password(password, email)
    return new_user(org_id, email, name, role, password)
