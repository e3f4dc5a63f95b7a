"""A client's one-step links (`/c/<token>`): the READY email to a client carries one, and
it opens that one step and nothing else of the matter, where the client completes it
without a password.

Issuing a link (its row, token and email) is services/client_link_issue.py.
The client's actions go through the step door (`services.steps.perform`) with the client
as the actor, so the permission table, the state machine and the audit are the ones
every other way of acting uses. Each use case here is one transaction and writes an
audit row naming the link (`linkId`): issued, opened, submitted, revoked."""

from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import select

from webapp.engine.eligibility import resolve_eligible_actors
from webapp.engine.errors import Conflict, NotFound
from webapp.engine.roles import Role
from webapp.engine.states import ACTIVE_STATUSES, StepState
from webapp.extensions import db
from webapp.models import ClientLink, Document, InstanceStep, Organization, SecurityEventKind, User
from webapp.persistence.journal import enqueue
from webapp.persistence.transaction import transactional
from webapp.services import providers, steps
from webapp.services.access import load_matter, matter_access
from webapp.services.client_link_issue import (
    LINK_JOB,
    audit,
    firm_name_of,
    issue,
    lifetime,
    revoke_open,
    serializer,
)
from webapp.services.clock import now
from webapp.services.security import record_security_event

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


def _link_id(token: str) -> int:
    try:
        data = serializer().loads(token, max_age=int(lifetime().total_seconds()))
    except SignatureExpired:
        data = serializer().loads(token)  # the signature is good: say "expired" below
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
    firm = firm_name_of(link)
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
        firm=firm_name_of(link),
        lawyer=step.instance.matter.owner.name,
        token=token,
        documents=documents,
    )


@transactional
def open_link(token: str) -> LinkPage:
    """The client opened the link (audited each time)."""
    link = _usable(token)
    steps.load_step(link.step_id, link.user)  # the client may still act here (not removed)
    audit(link, "client_link.opened", link.user_id, {})
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
    audit(link, "client_link.submitted", link.user_id, {"act": command.act.value, "done": done})
    files = (link.step.action_data or {}).get("files", [])[before:]
    return Submitted(_page(link, token), done, files)


@transactional
def start_provider(token: str) -> str | None:
    """A signature or payment: the step is started through the door (which opens the
    provider's session) and the client continues on the provider's page (None: the
    provider emailed them instead); its webhook completes the step. The link stays open
    until then."""
    link = _usable(token, for_update=True)
    url = providers.provider_page(link.user, link.step_id)
    audit(link, "client_link.submitted", link.user_id, {"act": "provider", "done": False})
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
    audit(link, "client_link.submitted", link.user_id, {"act": "confirm", "done": done})
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
    ids = revoke_open(step.id, None, now())
    for link in db.session.scalars(select(ClientLink).where(ClientLink.id.in_(ids))):
        audit(link, "client_link.revoked", actor.id, {"clientId": link.user_id})
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
