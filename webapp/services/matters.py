"""Matters, the people on them (the team, the client, ethical walls: services/team and
services/walls), and their lifecycle (close, archive, reopen, delete)."""

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, func, literal_column, select

from webapp.engine.errors import Conflict, Invalid, NotAllowed, NotFound, Unprocessable
from webapp.engine.roles import MEMBER_ROLES, Role
from webapp.engine.text import refuse_line_breaks
from webapp.extensions import db
from webapp.models import Document, Matter, MatterMember, MatterScreen, User, WorkflowInstance
from webapp.observability import traced
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import transactional
from webapp.services import documents, events, team, walls
from webapp.services.access import load_matter, require_editor, visible_matters

MATTER_STATUSES = ("OPEN", "CLOSED", "ARCHIVED")

# The one status that sums up a matter's workflows for a partner scanning the list: the
# most pressing one any of them is in (a failed workflow outranks a running one).
SUMMARY_PRIORITY = (
    "Failed",
    "Paused",
    "WaitingForApproval",
    "WaitingForInput",
    "Running",
    "Created",
    "Completed",
    "Cancelled",
)


@dataclass(frozen=True)
class WorkflowSummary:
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def summary(self) -> str | None:
        return next((status for status in SUMMARY_PRIORITY if self.counts.get(status)), None)


def workflow_summaries(matter_ids: list[int]) -> dict[int, WorkflowSummary]:
    """Instances by status for each matter, in one query."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if matter_ids:
        rows = db.session.execute(
            select(WorkflowInstance.matter_id, WorkflowInstance.status, func.count())
            .where(WorkflowInstance.matter_id.in_(matter_ids))
            .group_by(WorkflowInstance.matter_id, WorkflowInstance.status)
        )
        for matter_id, status, count in rows:
            counts[matter_id][status] = count
    return {matter_id: WorkflowSummary(dict(counts[matter_id])) for matter_id in matter_ids}


def search_text() -> ColumnElement[str]:
    """What matter search matches: the same expression as the trigram index of migration
    0005 on PostgreSQL (a literal separator, so the planner sees the indexed expression)."""
    return func.lower(Matter.reference + literal_column("' '") + Matter.title)


def like_pattern(q: str) -> str:
    """`q` anywhere, its own % and _ taken literally."""
    escaped = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_matters(
    user: User,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    after: str | None = None,
) -> tuple[list[Matter], int]:
    """The matters this person sees, by reference, and how many there are. A page starts
    `after` a reference (keyset: the unique (firm, reference) index, whatever the page's
    depth) or, for clients that page by number, at `offset`. The count reads the same
    index; matching `q` reads the trigram index on PostgreSQL."""
    query = visible_matters(user)
    if q and q.strip():
        query = query.where(search_text().like(like_pattern(q), escape="\\"))
    total = db.session.scalar(query.with_only_columns(func.count(), maintain_column_froms=True))
    if after is not None:
        query = query.where(Matter.reference > after)
    rows = db.session.scalars(query.order_by(Matter.reference).limit(limit).offset(offset)).all()
    return list(rows), total or 0


def get_matter(user: User, matter_id: int) -> Matter:
    return load_matter(matter_id, user)


def _org_user(user: User, user_id: int) -> User:
    other = db.session.get(User, user_id)
    if other is None or other.org_id != user.org_id:
        raise NotFound(f"User {user_id} was not found.")
    return other


@dataclass(frozen=True)
class NewClient:
    """A client the firm does not know yet (services/team.new_client)."""

    name: str
    email: str


@dataclass(frozen=True)
class Seat:
    """A person on a new matter's team, with their matter role (their own role)."""

    user_id: int
    role: str | None = None


@transactional
def create_matter(
    user: User,
    reference: str,
    title: str,
    owner_id: int | None = None,
    client: int | NewClient | None = None,
    seats: tuple[Seat, ...] = (),
) -> Matter:
    """Open a matter with its responsible lawyer, and (optionally) its client — an
    existing contact's id or a new one — and the rest of its team. All or nothing."""
    if user.role not in (Role.ADMIN, Role.LAWYER):
        raise NotAllowed("Only admins and lawyers can open matters.")
    reference, title = reference.strip(), title.strip()
    if not reference or not title:
        raise Invalid("A matter needs a reference and a title.")
    refuse_line_breaks(reference, "A matter's reference", "reference")
    owner = _org_user(user, owner_id) if owner_id else user
    if owner.role != Role.LAWYER:
        raise Unprocessable("The owner of a matter must be a lawyer.")
    exists = db.session.scalar(
        select(Matter.id).where(Matter.org_id == user.org_id, Matter.reference == reference)
    )
    if exists:
        raise Conflict(f"A matter with reference {reference!r} already exists.")
    matter = Matter(
        org_id=user.org_id, reference=reference, title=title, owner_id=owner.id, status="OPEN"
    )
    matter.members.append(MatterMember(user_id=owner.id, role=Role.LAWYER))
    db.session.add(matter)
    db.session.flush()
    record_event(
        org_id=user.org_id,
        event_type="matter.created",
        actor_id=user.id,
        matter_id=matter.id,
        new_status="OPEN",
        payload={"reference": reference},
    )
    events.emit(user.org_id, "matter.created", matter.id, {"reference": reference, "title": title})
    if isinstance(client, NewClient):
        client = team.new_client(user, client.name, client.email).id
    if client is not None:
        _add(user, matter, client, Role.CLIENT, expect_client=True)
    for seat in seats:
        if seat.user_id != owner.id:  # the owner is on the team already
            _add(user, matter, seat.user_id, seat.role)
    return matter


@transactional
def add_member(user: User, matter_id: int, member_id: int, role: str | None = None) -> Matter:
    """Put a person of the firm on the team with their role; they are emailed the steps
    already waiting for them there (after the commit, by the worker)."""
    matter = load_matter(matter_id, user)
    require_editor(matter, user)
    _add(user, matter, member_id, role)
    return matter


def _add(
    user: User, matter: Matter, member_id: int, role: str | None, expect_client: bool = False
) -> None:
    member = _org_user(user, member_id)
    role = role or member.role
    if role not in MEMBER_ROLES:
        raise Invalid(f"A member's role is one of {', '.join(MEMBER_ROLES)}.")
    if expect_client and member.role != Role.CLIENT:
        raise Unprocessable(f"{member.name} is a {member.role.lower()}, not a client.")
    if member.role != role:
        raise Unprocessable(f"{member.name} is a {member.role.lower()}, not a {role.lower()}.")
    if not member.active:
        raise Unprocessable(f"{member.name} no longer has access to the firm's matters.")
    walls.require_not_screened(matter, member)
    if any(m.user_id == member.id for m in matter.members):
        raise Conflict(f"{member.name} is already on this matter.")
    matter.members.append(MatterMember(user_id=member.id, role=role))
    record_event(
        org_id=user.org_id,
        event_type="matter.member_added",
        actor_id=user.id,
        matter_id=matter.id,
        payload={"userId": member.id, "role": role},
    )
    db.session.flush()
    team.tell_added(matter, member)


@transactional
def remove_member(user: User, matter_id: int, member_id: int) -> Matter:
    """Take a person off the team: from their next request the matter is not found for
    them (unless they are an admin), and its open steps no longer wait on them."""
    matter = load_matter(matter_id, user)
    require_editor(matter, user)
    member = _org_user(user, member_id)
    if member.id == matter.owner_id:
        raise Conflict(f"{member.name} is the matter's responsible lawyer and stays on its team.")
    if not any(m.user_id == member.id for m in matter.members):
        raise NotFound(f"{member.name} is not on this matter.")
    team.drop_member(user, matter, member, "removed")
    return matter


@transactional
def update_matter(
    user: User, matter_id: int, status: str | None = None, title: str | None = None
) -> Matter:
    """Rename, close, archive or reopen. Its workflows are left exactly as they are."""
    matter = load_matter(matter_id, user)
    require_editor(matter, user)
    if status is None and title is None:
        raise Invalid("Send a status, a title, or both.")
    if status is not None and status not in MATTER_STATUSES:
        raise Invalid(f"A matter's status is one of {', '.join(MATTER_STATUSES)}.")
    if title is not None:
        _rename(matter, user, title)
    if status is not None and status != matter.status:
        record_event(
            org_id=user.org_id,
            event_type="matter.status_changed",
            actor_id=user.id,
            matter_id=matter.id,
            old_status=matter.status,
            new_status=status,
            payload={"reference": matter.reference},
        )
        change = {"reference": matter.reference, "from": matter.status, "to": status}
        events.emit(user.org_id, "matter.status_changed", matter.id, change)
        matter.status = status
    return matter


def _rename(matter: Matter, user: User, title: str) -> None:
    title = title.strip()
    if not title:
        raise Invalid("A matter needs a title.")
    if title == matter.title:
        return
    record_event(
        org_id=user.org_id,
        event_type="matter.renamed",
        actor_id=user.id,
        matter_id=matter.id,
        payload={"reference": matter.reference, "title": {"from": matter.title, "to": title}},
    )
    matter.title = title


@dataclass(frozen=True)
class DeletedMatter:
    id: int
    reference: str
    instance_ids: list[int]


@transactional
def delete_matter(user: User, matter_id: int) -> DeletedMatter:
    """Admins only. The matter's workflows, steps and documents go with it; the audit
    trail and the instances' change history stay, as they hold ids, not foreign keys."""
    matter = load_matter(matter_id, user)
    if user.role != Role.ADMIN:
        raise NotAllowed("Only an admin can delete a matter.")
    instances = list(
        db.session.scalars(
            select(WorkflowInstance)
            .where(WorkflowInstance.matter_id == matter.id)
            .order_by(WorkflowInstance.id)
        )
    )
    gone = DeletedMatter(matter.id, matter.reference, [i.id for i in instances])
    for instance in instances:
        db.session.delete(instance)
    db.session.flush()
    documents.purge_files_later(user.org_id, documents.storage_keys_of_matter(matter.id))
    db.session.execute(delete(Document).where(Document.matter_id == matter.id))
    db.session.delete(matter)
    record_event(
        org_id=user.org_id,
        event_type="matter.deleted",
        actor_id=user.id,
        matter_id=gone.id,
        old_status=matter.status,
        payload={
            "reference": matter.reference,
            "title": matter.title,
            "instanceIds": gone.instance_ids,
        },
    )
    return gone


# ---- the matter door --------------------------------------------------------------------
# Every change of a matter is `perform(actor, matter_id, command)`, the shape of the step,
# instance and template doors: one transaction, the checks inside.


@dataclass(frozen=True)
class Create:
    """Open a matter (the door's `matter_id` is None: there is none yet), with its client
    and team when named."""

    reference: str
    title: str
    owner_id: int | None = None
    client: int | NewClient | None = None
    seats: tuple[Seat, ...] = ()


@dataclass(frozen=True)
class Update:
    """Rename, close, archive or reopen (its workflows are left as they are)."""

    status: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class AddMember:
    """`role` None: the person's own role (the only one they can have on a matter)."""

    user_id: int
    role: str | None = None


@dataclass(frozen=True)
class RemoveMember:
    user_id: int


@dataclass(frozen=True)
class Screen:
    """An ethical wall: admins only, with a reason."""

    user_id: int
    reason: str


@dataclass(frozen=True)
class LiftScreen:
    user_id: int


@dataclass(frozen=True)
class Delete:
    pass


MatterCommand = Create | Update | AddMember | RemoveMember | Screen | LiftScreen | Delete


@dataclass(frozen=True)
class MatterChanged:
    """The matter as the change left it, or what was deleted."""

    matter: Matter | None = None
    deleted: DeletedMatter | None = None
    screen: MatterScreen | None = None  # the wall a Screen put up

    def kept(self) -> Matter:
        if self.matter is None:
            raise Conflict("The matter was deleted.")
        return self.matter

    def walled(self) -> MatterScreen:
        if self.screen is None:
            raise Conflict("No one was screened.")
        return self.screen

    def gone(self) -> DeletedMatter:
        if self.deleted is None:
            raise Conflict("The matter was not deleted.")
        return self.deleted


@traced("matter perform")
@transactional
def perform(actor: User, matter_id: int | None, command: MatterCommand) -> MatterChanged:
    if isinstance(command, Create):
        return MatterChanged(
            create_matter(
                actor,
                command.reference,
                command.title,
                command.owner_id,
                command.client,
                command.seats,
            )
        )
    if matter_id is None:
        raise Invalid("Name the matter to change.")
    match command:
        case Update(status=status, title=title):
            return MatterChanged(update_matter(actor, matter_id, status, title))
        case AddMember(user_id=user_id, role=role):
            return MatterChanged(add_member(actor, matter_id, user_id, role))
        case RemoveMember(user_id=user_id):
            return MatterChanged(remove_member(actor, matter_id, user_id))
        case Screen(user_id=user_id, reason=reason):
            matter, wall = walls.screen(actor, matter_id, user_id, reason)
            return MatterChanged(matter, screen=wall)
        case LiftScreen(user_id=user_id):
            return MatterChanged(walls.lift(actor, matter_id, user_id))
        case Delete():
            return MatterChanged(deleted=delete_matter(actor, matter_id))
    raise Invalid("Unknown change of a matter.")
