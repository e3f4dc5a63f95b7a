"""Issuing a client's one-step link: the ClientLink row, its signed token and URL, and the
email that gives it. Apart from services/client_links.py (opening and answering, which
go through the step door) so that the READY email can issue a link without importing
the step door, which itself writes notifications.

The token is signed (itsdangerous, timestamped by the services' clock) and names the
row; the row makes the link expire (`CLIENT_LINK_DAYS`), work once and be revocable; no
usable token is stored."""

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update

from webapp.adapters.mail import build_message
from webapp.extensions import db
from webapp.models import ClientLink, InstanceStep, Organization, User
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import transactional
from webapp.services.clock import now

SALT = "matterflow.client-link"
LINK_JOB = "mail.client_link"  # a resent link's email (services/client_link_mail.py)


def lifetime() -> timedelta:
    return timedelta(days=float(current_app.config["CLIENT_LINK_DAYS"]))


class ClockSigner(TimestampSigner):
    """itsdangerous' timestamps from the services' clock, so a test can move time (as
    invitations do; not services/people's, which imports the notifications)."""

    def get_timestamp(self) -> int:
        return int(now().timestamp())


def serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], SALT, signer=ClockSigner)


def token_of(link: ClientLink) -> str:
    return serializer().dumps({"link": link.id})


def url_of(link: ClientLink) -> str:
    """The link as the email gives it (the worker has no request to read a host from)."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/c/{token_of(link)}"


def firm_name_of(link: ClientLink) -> str:
    firm = db.session.get(Organization, link.org_id)
    return firm.name if firm else "the firm"


# ---- issuing -------------------------------------------------------------------------------


@transactional
def issue(actor: User | None, step: InstanceStep, client: User) -> ClientLink:
    """A new link for this client to this step; it replaces any the client still had for
    the step (only the newest works). `actor`: who asked (None: the READY email)."""
    moment = now()
    revoke_open(step.id, client.id, moment)
    link = ClientLink(
        org_id=step.instance.org_id,
        step_id=step.id,
        user_id=client.id,
        created_by_id=actor.id if actor else None,
        created_at=moment,
        expires_at=moment + lifetime(),
    )
    db.session.add(link)
    db.session.flush()
    event = "client_link.resent" if actor else "client_link.issued"  # by hand, or the email
    audit(link, event, actor.id if actor else None, {"clientId": client.id})
    return link


def revoke_open(step_id: int, user_id: int | None, moment: Any) -> list[int]:
    """Revoke the step's links still open (of one client, or of all); their ids."""
    query = select(ClientLink.id).where(
        ClientLink.step_id == step_id, ClientLink.used_at.is_(None), ClientLink.revoked_at.is_(None)
    )
    if user_id is not None:
        query = query.where(ClientLink.user_id == user_id)
    ids = list(db.session.scalars(query))
    if ids:
        db.session.execute(
            update(ClientLink)
            .where(ClientLink.id.in_(ids))
            .values(revoked_at=moment)
            .execution_options(synchronize_session=False)
        )
    return ids


def audit(link: ClientLink, event_type: str, actor_id: int | None, extra: dict[str, Any]) -> None:
    step = link.step
    record_event(
        org_id=link.org_id,
        event_type=event_type,
        actor_id=actor_id,
        matter_id=step.instance.matter_id,
        instance_id=step.instance_id,
        step_id=step.id,
        payload={"linkId": link.id, "key": step.key, **extra},
    )


# ---- the email that gives a client their link ---------------------------------------------


def link_email(link: ClientLink) -> EmailMessage:
    """The email that gives a client their link: what is asked, by whom, and the link."""
    step, client = link.step, link.user
    firm = firm_name_of(link)
    lawyer = step.instance.matter.owner.name
    ask = ask_of(step)
    days = float(current_app.config["CLIENT_LINK_DAYS"])
    subject = f"{firm}: {step.title}"
    body = (
        f"Hello {client.name},\n\n"
        f"{lawyer} at {firm} asks you for this: {step.title}.\n"
        f"{ask + chr(10) if ask else ''}\n"
        f"Open this link to do it now (no password needed):\n\n"
        f"{url_of(link)}\n\n"
        f"The link works once, for you only, and expires in {days:g} day"
        f"{'s' if days != 1 else ''}. If you were not expecting it, contact {firm}.\n"
    )
    return build_message([client.email], subject, body)


def ask_of(step: InstanceStep) -> str:
    """What the step asks of the client, in the firm's words."""
    config = step.action_config or {}
    return str(config.get("requestText") or config.get("message") or "")
