"""The firm's people: firms and their first admin, invitations, roles, deactivation and
people's own passwords.

The door is `perform(actor, user_id, command)` with Invite, Update (role and/or active)
and ResendInvitation, each audited in the same transaction. An invitation is a signed
(itsdangerous), expiring, one-use link to a page where the person sets their password;
its email leaves after the commit as an outbox job (`mail.invitation`), which signs the
link when it sends it, so no usable link is ever stored."""

import re
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from webapp.adapters.mail import build_message
from webapp.engine.errors import Conflict, Invalid, NotAllowed, NotFound, Unprocessable
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import ApiToken, Invitation, MatterMember, Organization, User
from webapp.persistence.journal import enqueue, record_event
from webapp.persistence.transaction import transactional
from webapp.services import outbox
from webapp.services.auth import hash_password, user_by_email
from webapp.services.clock import now
from webapp.services.notifications import send_and_settle
from webapp.services.passwords import check_password

INVITATION_JOB = "mail.invitation"
SALT = "matterflow.invitation"
ROLES = tuple(role.value for role in Role)


# ---- who may do what -------------------------------------------------------------------


def may_manage_people(actor: User) -> bool:
    return actor.role == Role.ADMIN


def may_invite(actor: User, role: str) -> bool:
    """Admins invite anyone; a lawyer invites a client (a new matter's client)."""
    return actor.role == Role.ADMIN or (actor.role == Role.LAWYER and role == Role.CLIENT)


def require_manager(actor: User) -> None:
    if not may_manage_people(actor):
        raise NotAllowed("Only admins can see and change the firm's people.")


def status_of(user: User) -> str:
    """invited, active or deactivated: what the people list shows."""
    if not user.active:
        return "deactivated"
    return "active" if user.has_password else "invited"


# ---- the door --------------------------------------------------------------------------


@dataclass(frozen=True)
class Invite:
    email: str
    name: str
    role: str


@dataclass(frozen=True)
class Update:
    """A new role and/or active flag; None keeps what it is."""

    role: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class ResendInvitation:
    pass


PersonCommand = Invite | Update | ResendInvitation


@dataclass(frozen=True)
class PersonChanged:
    user: User
    changes: dict[str, Any]  # what moved, as the audit row says it


@transactional
def perform(actor: User, user_id: int | None, command: PersonCommand) -> PersonChanged:
    match command:
        case Invite(email=email, name=name, role=role):
            return _invite(actor, email, name, role)
        case ResendInvitation():
            return _resend(actor, _load_for_invite(actor, user_id))
        case Update(role=role, active=active):
            require_manager(actor)
            _lock_firm(actor.org_id)
            return _update(actor, _load(actor, user_id), role, active)
    raise Invalid("Unknown change of a person.")


def invite(actor: User, email: str, name: str, role: str) -> User:
    """Invite someone to the actor's firm by email (a plain function for other services,
    such as a new matter's client): the same door, audit row and email."""
    return perform(actor, None, Invite(email, name, role)).user


def _load(actor: User, user_id: int | None) -> User:
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None or user.org_id != actor.org_id:
        raise NotFound(f"User {user_id} was not found.")
    return user


def _load_for_invite(actor: User, user_id: int | None) -> User:
    """A lawyer may resend a client's invitation; to anyone else a person they may not
    manage is not found, as a person of another firm is."""
    if not (may_manage_people(actor) or actor.role == Role.LAWYER):
        raise NotAllowed("Only admins can see and change the firm's people.")
    user = _load(actor, user_id)
    if not may_invite(actor, user.role):
        raise NotFound(f"User {user_id} was not found.")
    return user


def _lock_firm(org_id: int) -> None:
    """Changes of roles and of who is active in one firm take turns: two admins demoting
    each other at the same moment cannot leave the firm with none."""
    db.session.execute(
        select(Organization.id).where(Organization.id == org_id).with_for_update()
    ).first()


def _problem(field: str, message: str) -> Unprocessable:
    return Unprocessable(message, [{"field": field, "message": message}])


# The same shapes the API's document states (api/people_schemas.py).
EMAIL = re.compile(r"^[^@ \t\r\n]+@[^@ \t\r\n]+\.[^@ \t\r\n]+$")


def _checked_person(email: str, name: str, role: str) -> tuple[str, str, str]:
    email, name = (email or "").strip(" \t").lower(), (name or "").strip(" \t")
    if not EMAIL.match(email) or len(email) > 320:
        raise _problem("email", "Enter an email address such as name@firm.example.")
    if not name or len(name) > 200 or "\n" in name or "\r" in name:
        raise _problem("name", "Enter the person's name on one line (up to 200 characters).")
    if role not in ROLES:
        raise _problem("role", f"A role is one of {', '.join(ROLES)}.")
    return email, name, role


def _invite(actor: User, email: str, name: str, role: str) -> PersonChanged:
    email, name, role = _checked_person(email, name, role)
    if not may_invite(actor, role):
        raise NotAllowed("Only admins can invite people to the firm; lawyers invite clients.")
    if user_by_email(email) is not None:
        raise Conflict(
            f"{email} already has an account: find them in the firm's people, or use "
            "another address.",
            [{"field": "email", "message": "This email address already has an account."}],
        )
    user = User(org_id=actor.org_id, email=email, name=name, role=role, password_hash="")
    user.active = True
    db.session.add(user)
    db.session.flush()
    invitation = _new_invitation(user, actor)
    _audit(actor, user, "user.invited", {"email": email, "role": role})
    _send(invitation)
    return PersonChanged(user, {"invited": True})


def _resend(actor: User, user: User) -> PersonChanged:
    if not user.active:
        raise Conflict(f"{user.name} is deactivated: reactivate them before inviting them.")
    if user.has_password:
        raise Conflict(f"{user.name} has already set a password and signs in as usual.")
    invitation = _new_invitation(user, actor)
    _audit(actor, user, "user.invitation_resent", {"email": user.email})
    _send(invitation)
    return PersonChanged(user, {"invited": True})


def _update(actor: User, user: User, role: str | None, active: bool | None) -> PersonChanged:
    if role is not None and role not in ROLES:
        raise _problem("role", f"A role is one of {', '.join(ROLES)}.")
    changes: dict[str, Any] = {}
    if role is not None and role != user.role:
        changes["role"] = {"from": user.role, "to": role}
    if active is not None and active != user.active:
        changes["active"] = {"from": user.active, "to": active}
    if not changes:
        return PersonChanged(user, {})
    stays_admin = (role or user.role) == Role.ADMIN and (user.active if active is None else active)
    if user.is_admin and user.active and not stays_admin:
        _refuse_last_admin(actor, user)
    if "role" in changes:
        user.role = role or user.role
        # A member's role on a matter is the person's own role: it follows.
        db.session.execute(
            update(MatterMember).where(MatterMember.user_id == user.id).values(role=user.role)
        )
    if "active" in changes:
        user.active = bool(active)
        if not user.active:
            changes["tokensRevoked"] = _end_access(user)
    event = "user.updated"
    if set(changes) - {"tokensRevoked"} == {"active"}:
        event = "user.reactivated" if user.active else "user.deactivated"
    elif set(changes) == {"role"}:
        event = "user.role_changed"
    _audit(actor, user, event, changes)
    return PersonChanged(user, changes)


def _refuse_last_admin(actor: User, user: User) -> None:
    others = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.org_id == user.org_id,
            User.role == Role.ADMIN,
            User.active,
            User.password_hash != "",
            User.id != user.id,
        )
    )
    if not others:
        who = "You are" if user.id == actor.id else f"{user.name} is"
        raise Conflict(
            f"{who} the firm's last active administrator: make someone else an "
            "administrator first, so the firm is never left without one."
        )


def _end_access(user: User) -> int:
    """A deactivated person's tokens are revoked (their sessions are refused as they load,
    webapp/auth.py) and their open invitations withdrawn. How many tokens were revoked."""
    moment = now()
    revoked = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=moment)
        .execution_options(synchronize_session=False)
    )
    _withdraw_invitations(user, moment)
    return int(getattr(revoked, "rowcount", 0) or 0)


def _audit(actor: User | None, user: User, event_type: str, payload: dict[str, Any]) -> None:
    record_event(
        org_id=user.org_id,
        event_type=event_type,
        actor_id=actor.id if actor else None,
        payload={"userId": user.id, **payload},
    )


# ---- reads -----------------------------------------------------------------------------


def list_users(
    actor: User, role: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[User], int]:
    """The actor's firm's people, by name (admins)."""
    require_manager(actor)
    query = select(User).where(User.org_id == actor.org_id)
    if role:
        query = query.where(User.role == role)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(func.lower(User.name), User.id).limit(limit).offset(offset)
    )
    return list(rows), total


def get_user(actor: User, user_id: int) -> User:
    require_manager(actor)
    return _load(actor, user_id)


def open_invitations(user_ids: list[int]) -> dict[int, Invitation]:
    """Each person's newest invitation not yet used or replaced, in one query."""
    if not user_ids:
        return {}
    rows = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.user_id.in_(user_ids),
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .order_by(Invitation.id)
    )
    return {row.user_id: row for row in rows}


# ---- invitations: the link -------------------------------------------------------------


class ClockSigner(TimestampSigner):
    """itsdangerous' timestamps from the services' clock, so a test can move time."""

    def get_timestamp(self) -> int:
        return int(now().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], SALT, signer=ClockSigner)


def invitation_lifetime() -> timedelta:
    return timedelta(days=current_app.config["INVITATION_DAYS"])


def _new_invitation(user: User, actor: User | None) -> Invitation:
    """A new link replaces any the person still had: only the newest one works."""
    moment = now()
    _withdraw_invitations(user, moment)
    invitation = Invitation(
        org_id=user.org_id,
        user_id=user.id,
        created_by_id=actor.id if actor else None,
        created_at=moment,
        expires_at=moment + invitation_lifetime(),
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation


def _withdraw_invitations(user: User, moment: Any) -> None:
    db.session.execute(
        update(Invitation)
        .where(
            Invitation.user_id == user.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=moment)
        .execution_options(synchronize_session=False)
    )


def invitation_token(invitation: Invitation) -> str:
    return _serializer().dumps({"invitation": invitation.id})


def invitation_link(invitation: Invitation) -> str:
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    return f"{base}/invitations/{invitation_token(invitation)}"


EXPIRED = "This invitation link has expired. Ask your administrator to send a new one."
NOT_VALID = "This invitation link is not valid. Check that the whole link was copied."
USED = "This invitation link has already been used. Sign in with your email and password."
REPLACED = "A newer invitation replaced this link. Use the link in the latest email."


def invitation_for(token: str, for_update: bool = False) -> Invitation:
    """The invitation a link names, while it may still be used; NotFound (404) with a
    plain reason otherwise: expired, already used, replaced, or never valid."""
    try:
        data = _serializer().loads(token, max_age=int(invitation_lifetime().total_seconds()))
    except SignatureExpired:
        raise NotFound(EXPIRED) from None
    except BadSignature:
        raise NotFound(NOT_VALID) from None
    invitation_id = data.get("invitation") if isinstance(data, dict) else None
    query = select(Invitation).where(Invitation.id == invitation_id)
    if for_update:
        query = query.with_for_update(of=Invitation)
    invitation = db.session.scalar(query) if isinstance(invitation_id, int) else None
    if invitation is None:
        raise NotFound(NOT_VALID)
    if invitation.accepted_at is not None:
        raise NotFound(USED)
    if invitation.revoked_at is not None:
        raise NotFound(REPLACED if invitation.user.active else NOT_VALID)
    if invitation.expires_at <= now():
        raise NotFound(EXPIRED)
    if not invitation.user.active:
        raise NotFound(NOT_VALID)
    return invitation


@transactional
def accept_invitation(token: str, password: str, confirmation: str | None = None) -> User:
    """Set the person's password from their link; the link is used up."""
    invitation = invitation_for(token, for_update=True)
    user = invitation.user
    if confirmation is not None and confirmation != password:
        raise _problem("confirm", "The two passwords are not the same.")
    check_password(password, user.email, user.name)
    user.password_hash = hash_password(password)
    invitation.accepted_at = now()
    _audit(user, user, "user.invitation_accepted", {"invitationId": invitation.id})
    return user


# ---- people's own password -------------------------------------------------------------


@transactional
def change_password(actor: User, current: str, new: str, confirmation: str | None = None) -> User:
    from werkzeug.security import check_password_hash

    user = db.session.get(User, actor.id)
    if user is None or not check_password_hash(user.password_hash, current or ""):
        raise _problem("current", "Your current password is not right.")
    if confirmation is not None and confirmation != new:
        raise _problem("confirm", "The two new passwords are not the same.")
    if new == current:
        raise _problem("password", "Choose a password different from your current one.")
    check_password(new, user.email, user.name)
    user.password_hash = hash_password(new)
    _audit(user, user, "user.password_changed", {})
    return user


# ---- firms -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FirmCreated:
    firm: Organization
    admin: User
    link: str  # the admin's one-time link to set a password


@transactional
def create_firm(name: str, admin_email: str, admin_name: str | None = None) -> FirmCreated:
    """A firm and its first admin, who sets a password from the link returned (the
    create-firm command prints it; no email is sent)."""
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise _problem("name", "Give the firm a name (up to 200 characters).")
    local = (admin_email or "").strip().split("@")[0]
    admin_name = admin_name or local.replace(".", " ").replace("_", " ").title() or "Admin"
    email, admin_name, _ = _checked_person(admin_email, admin_name, Role.ADMIN)
    if user_by_email(email) is not None:
        raise Conflict(f"{email} already has an account; choose another address.")
    firm = Organization(name=name)
    db.session.add(firm)
    db.session.flush()
    admin = User(org_id=firm.id, email=email, name=admin_name, role=Role.ADMIN, password_hash="")
    admin.active = True
    db.session.add(admin)
    db.session.flush()
    invitation = _new_invitation(admin, None)
    record_event(org_id=firm.id, event_type="firm.created", actor_id=None, payload={"name": name})
    _audit(None, admin, "user.invited", {"email": email, "role": Role.ADMIN})
    return FirmCreated(firm, admin, invitation_link(invitation))


# ---- the invitation email (an outbox job) ------------------------------------------------


def _send(invitation: Invitation) -> None:
    enqueue(
        INVITATION_JOB,
        {"invitationId": invitation.id},
        org_id=invitation.org_id,
        dedupe_key=f"invitation:{invitation.id}",
    )


def run_invitation_job(job: outbox.Claimed, worker_id: str) -> None:
    message = _invitation_message(job.id, worker_id)
    send_and_settle(job.id, worker_id, None if message is None else [message])


@transactional
def _invitation_message(job_id: int, worker_id: str) -> EmailMessage | None:
    """The email to send, or None when the link is no longer wanted (the job is settled)."""
    db.session.expire_all()
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return None
    job.attempts += 1
    invitation = db.session.get(Invitation, job.payload.get("invitationId", 0))
    if invitation is None or invitation.accepted_at or invitation.revoked_at:
        outbox.mark_done(job, "The invitation was used or replaced before it was sent.")
        return None
    user = invitation.user
    inviter = db.session.get(User, invitation.created_by_id) if invitation.created_by_id else None
    firm = db.session.get(Organization, invitation.org_id)
    days = current_app.config["INVITATION_DAYS"]
    body = (
        f"Hello {user.name},\n\n"
        f"{inviter.name if inviter else 'Your administrator'} invited you to "
        f"{firm.name if firm else 'your firm'} on Matterflow.\n\n"
        f"Open this link to choose your password and sign in:\n\n"
        f"{invitation_link(invitation)}\n\n"
        f"The link works once and expires in {days} day{'s' if days != 1 else ''}. "
        "If you were not expecting it, you can ignore this email.\n"
    )
    subject = f"You are invited to {firm.name if firm else 'Matterflow'} on Matterflow"
    return build_message([user.email], subject, body)
