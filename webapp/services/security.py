"""Security use cases: ending a person's sessions, and the firm's security events.

`record_security_event(org_id, kind, user_id, detail)` is the one way an event is kept.
During a request it is written in a short transaction of its own once the request's own
transaction has ended (committed or rolled back), so a refused request is still recorded
and a recording never joins a change that fails."""

import hashlib
import time
from typing import Any

from flask import current_app, g, has_request_context, request
from limits import parse
from sqlalchemy import insert, select, update

from webapp.engine.errors import NotAllowed
from webapp.extensions import db
from webapp.models import ApiToken, SecurityEvent, SecurityEventKind, User
from webapp.models.base import utcnow
from webapp.persistence import faults
from webapp.persistence.transaction import transactional

PENDING = "security_events_pending"
DETAIL_TEXT = 300  # longest text kept in an event's detail (a path, a typed email)


@transactional
def end_sessions(user_id: int) -> None:
    """Every session of this person ends, on every device: the epoch their sessions carry
    is no longer theirs (webapp/security/sessions.py)."""
    db.session.execute(
        update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1)
    )


# ---- recording ---------------------------------------------------------------------------------


def record_security_event(
    org_id: int | None, kind: str, user_id: int | None, detail: dict[str, Any] | None = None
) -> None:
    """Keep one security event of a firm (`kind`: a SecurityEventKind). During a request it
    is written once the request is over (write_pending, at teardown); elsewhere (a command,
    the worker) at once. Either way in a transaction of its own."""
    row = {
        "org_id": org_id,
        "kind": str(SecurityEventKind(kind)),
        "user_id": user_id,
        "address": _address(),
        "detail": _bounded(detail or {}),
        "created_at": utcnow(),
    }
    if has_request_context():
        g.setdefault(PENDING, []).append(row)
    else:
        _write([row])


def write_pending() -> None:
    """The request's events, in their own short transaction (teardown_request). Whatever
    the request left uncommitted is dropped first: a record never carries a change along."""
    rows = g.pop(PENDING, None)
    if rows:
        # A connection the database ended may refuse even the ROLLBACK: raised here, in
        # the teardown, it would replace the answer with the server's HTML error page.
        faults.drop_session()
        _write(rows)


def _write(rows: list[dict[str, Any]]) -> None:
    try:
        _keep(rows)
    except Exception:  # a lost record must never turn an answer into a 500
        current_app.logger.exception("Could not record %d security event(s)", len(rows))


@transactional
def _keep(rows: list[dict[str, Any]]) -> None:
    """One transaction through the door every write takes (on SQLite: queued behind the
    writer lock, from a fresh snapshot). Called inside another service's transaction (a
    command or the worker recording a wall hit), it joins that one."""
    db.session.execute(insert(SecurityEvent), rows)


def _address() -> str | None:
    return (request.remote_addr or None) if has_request_context() else None


def _bounded(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v[:DETAIL_TEXT] if isinstance(v, str) else v for k, v in detail.items()}


def where() -> dict[str, Any]:
    return {"method": request.method, "path": request.path} if has_request_context() else {}


# ---- what the edge records ----------------------------------------------------------------------


def record_sign_in(user: User) -> None:
    record_security_event(
        user.org_id, SecurityEventKind.SIGN_IN_SUCCEEDED, user.id, {"email": user.email}
    )


def record_sign_in_failed(email: str) -> None:
    """A wrong password: in the account's firm; an unknown account has no firm to tell
    (kept for the installation's operator, shown to no firm)."""
    user = _account(email)
    detail = {"email": email.strip().lower()}
    kind = SecurityEventKind.SIGN_IN_FAILED
    record_security_event(user.org_id if user else None, kind, user.id if user else None, detail)


def record_sign_in_throttled(email: str, reason: str) -> None:
    """Once a minute per account at most: a refused flood must not become a flood of rows."""
    lowered = email.strip().lower()
    if not _first_in(ONCE_A_MINUTE, "sign-in-throttled", lowered):
        return
    user = _account(email)
    record_security_event(
        user.org_id if user else None,
        SecurityEventKind.SIGN_IN_THROTTLED,
        user.id if user else None,
        {"email": lowered, "reason": reason},
    )


def record_signed_out(user: User) -> None:
    record_security_event(user.org_id, SecurityEventKind.SIGNED_OUT, user.id, {})


def _account(email: str) -> User | None:
    lowered = email.strip().lower()
    return db.session.scalar(select(User).where(User.email == lowered)) if lowered else None


# A token's use is recorded once an hour, not on every call.
ONCE_AN_HOUR = parse("1 per hour")
ONCE_A_MINUTE = parse("1 per minute")
_seen: dict[tuple[str, ...], float] = {}


def record_token_use(user: User, token: str) -> None:
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    if not _first_in(ONCE_AN_HOUR, "token-use", token_hash):
        return
    found = db.session.execute(
        select(ApiToken.id, ApiToken.name).where(ApiToken.token_hash == token_hash)
    ).first()
    detail = {"tokenId": found.id, "tokenName": found.name} if found else {}
    record_security_event(user.org_id, SecurityEventKind.TOKEN_USED, user.id, detail | where())


def _first_in(window: Any, *key: str) -> bool:
    """True the first time `key` is seen in the window: across every process when the rate
    limiter shares its counts (Redis), else within this process."""
    from webapp.security.limits import limiter_of

    limiter = limiter_of(current_app)
    if limiter is not None and limiter.limiter is not None:
        prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
        try:
            return bool(limiter.limiter.hit(window, prefix, "security-event", *key))
        except Exception:  # the shared storage is out of reach: count here meanwhile
            current_app.logger.warning("Rate-limit storage unreachable; counting in memory")
    now = time.monotonic()
    if now - _seen.get(key, float("-inf")) < window.get_expiry():
        return False
    _seen[key] = now
    return True


def record_refusal(kind: str, status: int, reason: str, org_id: int | None = None) -> None:
    """A refused request of the signed-in person (CSRF failure, a 403), in their firm unless
    the thing refused belongs to another (`org_id`)."""
    from flask_login import current_user

    user = current_user if current_user.is_authenticated else None
    firm = org_id if org_id is not None else (user.org_id if user else None)
    detail = {"status": status, "reason": reason, **where()}
    if user is not None and firm != user.org_id:
        detail["fromAnotherFirm"] = True
    record_security_event(firm, kind, user.id if user else None, detail)


# ---- reading ------------------------------------------------------------------------------------


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise NotAllowed("Only the firm's admins see its security events.")
