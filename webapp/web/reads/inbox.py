"""The inbox: the READY steps this person may act on across their matters, and the steps
they have in progress, soonest due first (those without a due date last), then oldest.

One statement written from the person's side: their memberships (and the matters they
own) joined to the open steps, with the role, the assignee and the claimant filtered in
SQL — the same rule as `engine.eligibility.can_perform` behind the runner's buttons,
which a test holds the two to. The same statement numbers each group's rows and counts
them (window functions), so a page shows the first PAGE_SIZE of each group and their
totals; the matters an ethical wall keeps the person from are left out in the same
statement; "Show more" asks for the rows after the last one shown (a keyset cursor). Its
cost follows this person's work, not the firm's."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, false, func, literal, or_, select, true

from webapp.engine.actions import all_handlers
from webapp.engine.errors import Invalid
from webapp.engine.roles import Role
from webapp.engine.states import ACTIVE_STATUSES, StepState
from webapp.extensions import db
from webapp.models import InstanceStep, Matter, MatterMember, User, WorkflowInstance
from webapp.models.base import UTCDateTime, utcnow
from webapp.services.access import not_screened
from webapp.web.reads.common import action_label


@dataclass(frozen=True)
class InboxStep:
    id: int
    title: str
    action_type: str
    action_state: str
    due_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class Named:
    """An instance or a matter as the inbox names it."""

    id: int
    title: str
    reference: str | None = None


@dataclass
class InboxItem:
    step: InboxStep
    instance: Named
    matter: Named
    action_label: str
    overdue: bool
    since: datetime


PAGE_SIZE = 50
NO_DUE_DATE = datetime(9999, 12, 31, tzinfo=UTC)  # sorts steps without a due date last
GROUPS = {"ready": StepState.READY, "in_progress": StepState.IN_PROGRESS}


@dataclass
class Group:
    """A page of one group of the inbox: its rows, how many there are in all, and where
    the next page starts when there is one."""

    name: str  # ready | in_progress
    items: list[InboxItem]
    total: int  # in the whole group (a "Show more" page: from the cursor on)
    next_cursor: str | None

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[InboxItem]:
        return iter(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass
class Inbox:
    ready: Group
    in_progress: Group


def human_action_types() -> list[str]:
    """The types a person performs; automated steps run in the background, not in an inbox."""
    return sorted(h.type for h in all_handlers() if not h.automated)


def actionable_steps(user: User) -> Select:
    """Open steps of active workflows this person may perform: claim or complete when
    READY, work on when they claimed it. Their matters are the ones they own or are a
    member of; an admin also acts on the firm's admin steps wherever they are."""
    membership = and_(MatterMember.matter_id == Matter.id, MatterMember.user_id == user.id)
    is_admin = true() if user.role == Role.ADMIN else false()
    eligible = or_(
        and_(InstanceStep.role_scope == Role.ADMIN, is_admin),
        and_(
            InstanceStep.role_scope == Role.LAWYER,
            or_(Matter.owner_id == user.id, MatterMember.role == Role.LAWYER),
        ),
        and_(
            InstanceStep.role_scope.notin_([Role.ADMIN, Role.LAWYER]),
            MatterMember.role == InstanceStep.role_scope,
        ),
    )
    query = (
        select(
            InstanceStep.id,
            InstanceStep.title,
            InstanceStep.action_type,
            InstanceStep.action_state,
            InstanceStep.due_at,
            InstanceStep.updated_at,
            WorkflowInstance.id.label("instance_id"),
            WorkflowInstance.title.label("instance_title"),
            Matter.id.label("matter_id"),
            Matter.title.label("matter_title"),
            Matter.reference,
        )
        .join(WorkflowInstance, WorkflowInstance.id == InstanceStep.instance_id)
        .join(Matter, Matter.id == WorkflowInstance.matter_id)
        .outerjoin(MatterMember, membership)
        .where(
            WorkflowInstance.org_id == user.org_id,
            Matter.org_id == user.org_id,
            WorkflowInstance.status.in_([s.value for s in ACTIVE_STATUSES]),
            InstanceStep.action_type.in_(human_action_types()),
            or_(
                and_(
                    InstanceStep.action_state == StepState.READY,
                    InstanceStep.claimed_by_id.is_(None),
                ),
                and_(
                    InstanceStep.action_state.in_([StepState.READY, StepState.IN_PROGRESS]),
                    InstanceStep.claimed_by_id == user.id,
                ),
            ),
            or_(InstanceStep.assigned_to_id.is_(None), InstanceStep.assigned_to_id == user.id),
            eligible,
            not_screened(WorkflowInstance.matter_id, user),
        )
    )
    if user.role != Role.ADMIN:  # only their own matters: the database starts from them
        mine = select(MatterMember.matter_id).where(MatterMember.user_id == user.id)
        owned = select(Matter.id).where(Matter.owner_id == user.id, Matter.org_id == user.org_id)
        query = query.where(WorkflowInstance.matter_id.in_(mine.union(owned)))
    return query


def due_key() -> ColumnElement[datetime]:
    return func.coalesce(InstanceStep.due_at, literal(NO_DUE_DATE, UTCDateTime()))


def cursor_of(item: InboxItem) -> str:
    due = item.step.due_at or NO_DUE_DATE
    return f"{due.isoformat()}_{item.step.updated_at.isoformat()}_{item.step.id}"


def parse_cursor(text: str) -> tuple[datetime, datetime, int]:
    try:
        due, updated, step_id = text.split("_")
        return (
            _aware(datetime.fromisoformat(due)),
            _aware(datetime.fromisoformat(updated)),
            int(step_id),
        )
    except ValueError:
        raise Invalid(
            "This link to more of your inbox is not valid; open the inbox again."
        ) from None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _after(cursor: tuple[datetime, datetime, int]) -> ColumnElement[bool]:
    """Rows after the cursor in the inbox's order (due date, then oldest, then id)."""
    due, updated, step_id = cursor
    key = due_key()
    return or_(
        key > literal(due, UTCDateTime()),
        and_(
            key == literal(due, UTCDateTime()),
            or_(
                InstanceStep.updated_at > updated,
                and_(InstanceStep.updated_at == updated, InstanceStep.id > step_id),
            ),
        ),
    )


def _paged(user: User, size: int, group: str | None, cursor: str | None) -> Select:
    """The person's actionable steps numbered within their group in the inbox's order and
    counted, keeping the first `size` of each: one statement."""
    order = [due_key(), InstanceStep.updated_at, InstanceStep.id]
    query = actionable_steps(user).add_columns(
        func.row_number().over(partition_by=InstanceStep.action_state, order_by=order).label("n"),
        func.count().over(partition_by=InstanceStep.action_state).label("total"),
    )
    if group is not None:
        query = query.where(InstanceStep.action_state == GROUPS[group])
    if cursor is not None:
        query = query.where(_after(parse_cursor(cursor)))
    numbered = query.subquery()
    return select(numbered).where(numbered.c.n <= size).order_by(numbered.c.n)


def _item(row: Row[Any], now: datetime) -> InboxItem:
    step = InboxStep(
        row.id, row.title, row.action_type, row.action_state, row.due_at, row.updated_at
    )
    return InboxItem(
        step=step,
        instance=Named(row.instance_id, row.instance_title),
        matter=Named(row.matter_id, row.matter_title, row.reference),
        action_label=action_label(step.action_type),
        overdue=bool(step.due_at and step.due_at < now),
        since=step.updated_at,
    )


def _groups(
    user: User, size: int, group: str | None = None, cursor: str | None = None
) -> dict[str, Group]:
    now = utcnow()
    items: dict[str, list[InboxItem]] = {name: [] for name in GROUPS}
    totals = dict.fromkeys(GROUPS, 0)
    names = {state: name for name, state in GROUPS.items()}
    for row in db.session.execute(_paged(user, size, group, cursor)):
        name = names[row.action_state]
        items[name].append(_item(row, now))
        totals[name] = row.total
    return {
        name: Group(
            name,
            items[name],
            totals[name],
            cursor_of(items[name][-1]) if totals[name] > len(items[name]) else None,
        )
        for name in GROUPS
    }


def inbox(user: User, size: int = PAGE_SIZE) -> Inbox:
    """The first page of each group — READY steps this person may act on across their
    matters, and the steps they have in progress — with each group's total."""
    groups = _groups(user, size)
    return Inbox(groups["ready"], groups["in_progress"])


def more(user: User, group: str, cursor: str, size: int = PAGE_SIZE) -> Group:
    """The next page of one group, after `cursor` (the last row already shown)."""
    if group not in GROUPS:
        raise Invalid("The inbox has two lists: ready and in_progress.")
    return _groups(user, size, group, cursor)[group]
