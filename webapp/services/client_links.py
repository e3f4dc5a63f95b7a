"""A client's one-step links (`/c/<token>`): the READY email to a client carries one, and
it opens that one step and nothing else of the matter, where the client completes it
without a password.

The token is signed (itsdangerous, timestamped by the services' clock) and names a
ClientLink row; the row makes it expire (`CLIENT_LINK_DAYS`), work once and be revocable.
The client's actions go through the step door (`services.steps.perform`) with the client
as the actor, so the permission table, the state machine and the audit are the ones
every other way of acting uses. Each use case here is one transaction and writes an
audit row naming the link (`linkId`): issued, opened, submitted, revoked."""

from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update

from webapp.adapters.mail import build_message
from webapp.engine.eligibility import resolve_eligible_actors
from webapp.engine.errors import Conflict, NotFound
from webapp.engine.roles import Role
from webapp.engine.states import ACTIVE_STATUSES, StepState
from webapp.extensions import db
from webapp.models import ClientLink, Document, InstanceStep, Organization, SecurityEventKind, User
from webapp.persistence.journal import enqueue, record_event
from webapp.persistence.transaction import transactional
from webapp.services import providers, steps
from webapp.services.access import load_matter, matter_access
from webapp.services.clock import now
from webapp.services.security import record_security_event

SALT = "matterflow.client-link"
LINK_JOB = "mail.client_link"  # a resent link's email (services/client_link_mail.py)
OPEN_STATES = (StepState.READY, StepState.IN_PROGRESS)


# ---- why a link does not open ------------------------------------------------------------


class LinkRefused(NotFound):
    """A link that cannot be used (any more). `gone`: it was valid once (used, expired,
    revoked, the request closed): 410; otherwise never valid: 404. The message is for the
    client, in plain words, and names the firm when it is known."""

    def __init__(self, message: str, *, gone: bool, firm: str | None = None) -> None:
        super().__init__(message)
        self.gone = gone
        self.firm = firm


NOT_VALID = "This link is not valid. Check that the whole link from the email was copied."


def _refused(link: ClientLink, reason: str, message: str) -> LinkRefused:
    """Kept as a security event of the firm (outside the refused transaction)."""
    firm = db.session.get(Organization, link.org_id)
    record_security_event(
        link.org_id,
        SecurityEventKind.ACCESS_REFUSED,
        None,
        {"status": 410, "reason": f"client link {reason}", "linkId": link.id},
    )
    return LinkRefused(message, gone=True, firm=firm.name if firm else None)


# ---- the token -----------------------------------------------------------------------------


def lifetime() -> timedelta:
    return timedelta(days=float(current_app.config["CLIENT_LINK_DAYS"]))


class ClockSigner(TimestampSigner):
    """itsdangerous' timestamps from the services' clock, so a test can move time (as
    invitations do; not imported from services/people, which the READY email imports)."""

    def get_timestamp(self) -> int:
        return int(now().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], SALT, signer=ClockSigner)


def token_of(link: ClientLink) -> str:
    return _serializer().dumps({"link": link.id})


def url_of(link: ClientLink) -> str:
    """The link as the email gives it (the worker has no request to read a host from)."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/c/{token_of(link)}"


def _link_id(token: str) -> int:
    try:
        data = _serializer().loads(token, max_age=int(lifetime().total_seconds()))
    except SignatureExpired:
        data = _serializer().loads(token)  # the signature is good: say "expired" below
    except BadSignature:
        raise LinkRefused(NOT_VALID, gone=False) from None
    link_id = data.get("link") if isinstance(data, dict) else None
    if not isinstance(link_id, int):
        raise LinkRefused(NOT_VALID, gone=False)
    return link_id


def _usable(token: str, *, for_update: bool = False) -> ClientLink:
    """The link a token names while it may still be used; LinkRefused otherwise."""
    query = select(ClientLink).where(ClientLink.id == _link_id(token))
    if for_update:  # as the last holder left it, not as this request read it before
        query = query.with_for_update(of=ClientLink).execution_options(populate_existing=True)
    link = db.session.scalar(query)
    if link is None:
        raise LinkRefused(NOT_VALID, gone=False)
    firm = _firm_name(link)
    if link.used_at is not None:
        raise _refused(
            link,
            "already used",
            f"This link has already been used — {firm} has what you sent. "
            f"If you need to send something else, contact {firm}.",
        )
    if link.revoked_at is not None:
        raise _refused(
            link,
            "revoked",
            f"This link was withdrawn by {firm}. If you were sent a newer email, use the "
            f"link in it; otherwise contact {firm}.",
        )
    if link.expires_at <= now():
        raise _refused(
            link, "expired", f"This link has expired. Contact {firm} to be sent a new one."
        )
    step = link.step
    if step.action_state not in OPEN_STATES or step.instance.status not in ACTIVE_STATUSES:
        raise _refused(
            link,
            "for a closed request",
            f"Nothing is waiting for you here any more. If you have a question, contact {firm}.",
        )
    if not link.user.active:
        raise LinkRefused(NOT_VALID, gone=False)
    return link


def _firm_name(link: ClientLink) -> str:
    firm = db.session.get(Organization, link.org_id)
    return firm.name if firm else "the firm"


# ---- issuing -------------------------------------------------------------------------------


@transactional
def issue(actor: User | None, step: InstanceStep, client: User) -> ClientLink:
    """A new link for this client to this step; it replaces any the client still had for
    the step (only the newest works). `actor`: who asked (None: the READY email)."""
    moment = now()
    _revoke_open(step.id, client.id, moment)
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
    _audit(link, event, actor.id if actor else None, {"clientId": client.id})
    return link


def _revoke_open(step_id: int, user_id: int | None, moment: Any) -> list[int]:
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


def _audit(link: ClientLink, event_type: str, actor_id: int | None, extra: dict[str, Any]) -> None:
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


# ---- what the client's page shows ----------------------------------------------------------


@dataclass
class LinkPage:
    """What the link's page shows: the step, the firm and the requesting lawyer, and
    nothing else of the matter."""

    link: ClientLink
    step: InstanceStep
    client: User
    firm: str
    lawyer: str
    token: str
    documents: list[Document] = field(default_factory=list)


def _page(link: ClientLink, token: str) -> LinkPage:
    step = link.step
    documents = list(
        db.session.scalars(
            select(Document)
            .where(Document.step_id == step.id, Document.org_id == link.org_id)
            .order_by(Document.id)
        )
    )
    return LinkPage(
        link=link,
        step=step,
        client=link.user,
        firm=_firm_name(link),
        lawyer=step.instance.matter.owner.name,
        token=token,
        documents=documents,
    )


@transactional
def open_link(token: str) -> LinkPage:
    """The client opened the link (audited each time)."""
    link = _usable(token)
    steps.load_step(link.step_id, link.user)  # the client may still act here (not removed)
    _audit(link, "client_link.opened", link.user_id, {})
    return _page(link, token)


# ---- the client's answer -------------------------------------------------------------------


@dataclass
class Submitted:
    page: LinkPage
    done: bool  # the step is complete: the link is used up
    received: list[dict[str, Any]]  # what the step recorded of the files sent


@transactional
def submit(token: str, command: steps.Command) -> Submitted:
    """The client's answer through the step door, as the client; when it completes the
    step, the link is used up. A refused answer changes nothing (one transaction)."""
    link = _usable(token, for_update=True)
    before = len((link.step.action_data or {}).get("files", []))
    changed = steps.perform(link.user, link.step_id, command)
    done = changed.step_state not in OPEN_STATES
    if done:
        link.used_at = now()
    _audit(link, "client_link.submitted", link.user_id, {"act": command.act.value, "done": done})
    files = (link.step.action_data or {}).get("files", [])[before:]
    return Submitted(_page(link, token), done, files)


@transactional
def start_provider(token: str) -> str:
    """A signature or payment: the step is started through the door (which opens the
    provider's session) and the client continues on the provider's page; its webhook
    completes the step. The link stays open until then."""
    link = _usable(token, for_update=True)
    url = providers.provider_page(link.user, link.step_id)
    _audit(link, "client_link.submitted", link.user_id, {"act": "provider", "done": False})
    return url


def provider_reference(token: str) -> tuple[LinkPage, str]:
    """The sandbox session of the link's step (its page shown under the link)."""
    page = page_of(token)
    reference = page.step.external_ref or ""
    if not reference.startswith("sbx_"):
        raise LinkRefused(NOT_VALID, gone=False)
    return page, reference


def page_of(token: str) -> LinkPage:
    """The link's page as it is, without recording an opening (a read)."""
    return _page(_usable(token), token)


def confirm_in_sandbox(token: str) -> Submitted:
    """The client confirmed on the sandbox page shown under their link: the signed
    webhook a real provider would send completes the step (it commits on its own, as a
    provider's delivery does), then the link is used up."""
    page, reference = provider_reference(token)
    kind = "esign" if reference.startswith("sbx_sig_") else "payments"
    providers.complete_in_sandbox(page.client, kind, reference)
    return _settle_after_provider(page.link.id, token)


@transactional
def _settle_after_provider(link_id: int, token: str) -> Submitted:
    link = db.session.scalar(
        select(ClientLink).where(ClientLink.id == link_id).with_for_update(of=ClientLink)
    )
    assert link is not None
    done = link.step.action_state not in OPEN_STATES
    if done and link.used_at is None:
        link.used_at = now()
    _audit(link, "client_link.submitted", link.user_id, {"act": "confirm", "done": done})
    return Submitted(_page(link, token), done, [])


# ---- the lawyer's controls (the runner) ----------------------------------------------------


def _staff_step(actor: User, step_id: int) -> InstanceStep:
    """A client step of a matter the actor works on as a lawyer or admin."""
    missing = NotFound(f"Step {step_id} was not found.")
    step = db.session.get(InstanceStep, step_id)
    if step is None or step.instance.org_id != actor.org_id:
        raise missing
    try:
        load_matter(step.instance.matter_id, actor)  # off the matter, or screened from it
    except NotFound:
        raise missing from None  # said as a missing step is: nothing of the matter
    if actor.role not in (Role.ADMIN, Role.LAWYER) or step.role_scope != Role.CLIENT:
        raise missing
    return step


@transactional
def revoke(actor: User, step_id: int) -> list[int]:
    """Withdraw every open link to the step; the ids withdrawn (each audited)."""
    step = _staff_step(actor, step_id)
    ids = _revoke_open(step.id, None, now())
    for link in db.session.scalars(select(ClientLink).where(ClientLink.id.in_(ids))):
        _audit(link, "client_link.revoked", actor.id, {"clientId": link.user_id})
    return ids


@transactional
def resend(actor: User, step_id: int) -> list[ClientLink]:
    """Withdraw the step's open links and email each client it is for a new one."""
    step = _staff_step(actor, step_id)
    if step.action_state not in OPEN_STATES or step.instance.status not in ACTIVE_STATUSES:
        raise Conflict("Only a step that is waiting for the client can be sent again.")
    revoke(actor, step_id)
    clients = clients_of(step)
    if not clients:
        raise Conflict("No client on the matter can act on this step: add one first.")
    links = [issue(actor, step, client) for client in clients]
    for link in links:
        enqueue(LINK_JOB, {"linkId": link.id}, org_id=link.org_id, dedupe_key=f"link:{link.id}")
    return links


def clients_of(step: InstanceStep) -> list[User]:
    """The active clients with an email address who may act on the step."""
    access = matter_access(step.instance.matter)
    ids = resolve_eligible_actors(step.role_scope, step.assigned_to_id, access)
    if not ids:
        return []
    people = db.session.scalars(
        select(User).where(User.id.in_(ids), User.active, User.role == Role.CLIENT)
    ).all()
    return sorted((p for p in people if (p.email or "").strip()), key=lambda p: p.id)


@dataclass(frozen=True)
class LinkState:
    """What the runner says of a client step's links."""

    open: int
    last_sent: Any
    used: bool


def link_states(step_ids: list[int]) -> dict[int, LinkState]:
    """Per step: how many links are open, when the last was made, whether one was used
    (one query, for the runner)."""
    if not step_ids:
        return {}
    rows = db.session.scalars(
        select(ClientLink).where(ClientLink.step_id.in_(step_ids)).order_by(ClientLink.id)
    ).all()
    moment = now()
    found: dict[int, LinkState] = {}
    for row in rows:
        previous = found.get(row.step_id, LinkState(0, None, False))
        is_open = row.used_at is None and row.revoked_at is None and row.expires_at > moment
        found[row.step_id] = LinkState(
            previous.open + (1 if is_open else 0),
            row.created_at,
            previous.used or row.used_at is not None,
        )
    return found


# ---- the email that gives a client their link ---------------------------------------------


def link_email(link: ClientLink) -> EmailMessage:
    """The email that gives a client their link: what is asked, by whom, and the link."""
    step, client = link.step, link.user
    firm = _firm_name(link)
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
