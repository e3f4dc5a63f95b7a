"""The matters list, and the matter lifecycle's stale-page check."""

from dataclasses import dataclass

from sqlalchemy import select

from webapp.engine.errors import Conflict
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, User
from webapp.services.access import load_matter
from webapp.services.matters import (
    SUMMARY_PRIORITY,
    WorkflowSummary,
    list_matters,
    workflow_summaries,
)


@dataclass
class MatterRow:
    matter: Matter
    workflows: WorkflowSummary  # instances by status, and the one status that sums them up

    @property
    def counts(self) -> list[tuple[str, int]]:
        """(status, how many) with the most pressing status first."""
        counts = self.workflows.counts
        return [(status, counts[status]) for status in SUMMARY_PRIORITY if counts.get(status)]


@dataclass
class MattersPage:
    rows: list[MatterRow]
    total: int  # how many matters match, on every page
    after: str | None  # the reference this page starts after (None: the first page)
    next_after: str | None  # where the next page starts, when there is one


PAGE_SIZE = 50


def matters_page(
    user: User, q: str | None = None, after: str | None = None, size: int = PAGE_SIZE
) -> MattersPage:
    """A page of the person's matters by reference, from `after` (keyset), with how many
    match in all: a count, the page, its members, its workflows' statuses."""
    matters, total = list_matters(user, q, limit=size + 1, after=after or None)
    shown = matters[:size]
    summaries = workflow_summaries([m.id for m in shown])
    following = shown[-1].reference if len(matters) > size else None
    return MattersPage([MatterRow(m, summaries[m.id]) for m in shown], total, after, following)


@dataclass
class FirmPeople:
    """Who the New matter form offers: lawyers (one is responsible for it; any may join
    its team), paralegals, and the firm's clients."""

    lawyers: list[User]
    paralegals: list[User]
    clients: list[User]


def firm_people(user: User) -> FirmPeople:
    """The firm's active lawyers, paralegals and clients by name, in one query."""
    people = db.session.scalars(
        select(User)
        .where(
            User.org_id == user.org_id,
            User.role.in_([Role.LAWYER, Role.PARALEGAL, Role.CLIENT]),
            User.active,
        )
        .order_by(User.name, User.id)
    ).all()
    by_role: dict[str, list[User]] = {Role.LAWYER: [], Role.PARALEGAL: [], Role.CLIENT: []}
    for person in people:
        by_role[person.role].append(person)
    return FirmPeople(by_role[Role.LAWYER], by_role[Role.PARALEGAL], by_role[Role.CLIENT])


def require_seen_matter_status(user: User, matter_id: int, seen: str | None) -> Matter:
    """A close/archive/reopen button from a page that showed another status is stale."""
    matter = load_matter(matter_id, user)
    if seen and seen != matter.status:
        raise Conflict(
            f"Matter {matter.reference} is now {matter.status.lower()}; it changed after you "
            "opened the page.",
            {"seen": seen, "status": matter.status},
        )
    return matter
