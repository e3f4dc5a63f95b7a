"""The inbox: the READY steps this person may act on across their matters, oldest first,
and the steps they have claimed.

One statement written from the person's side: their memberships (and the matters they
own) joined to the open steps, with the role, the assignee and the claimant filtered in
SQL — the same rule as `engine.eligibility.can_perform` behind the runner's buttons,
which a test holds the two to. Its cost follows this person's work, not the firm's."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, false, or_, select, true

from webapp.engine.actions import all_handlers
from webapp.engine.roles import Role
from webapp.engine.states import ACTIVE_STATUSES, StepState
from webapp.extensions import db
from webapp.models import InstanceStep, Matter, MatterMember, User, WorkflowInstance
from webapp.models.base import utcnow
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


@dataclass
class Inbox:
    ready: list[InboxItem]
    in_progress: list[InboxItem]


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
        )
        .order_by(InstanceStep.updated_at, InstanceStep.id)
    )
    if user.role != Role.ADMIN:  # only their own matters: the database starts from them
        mine = select(MatterMember.matter_id).where(MatterMember.user_id == user.id)
        owned = select(Matter.id).where(Matter.owner_id == user.id, Matter.org_id == user.org_id)
        query = query.where(WorkflowInstance.matter_id.in_(mine.union(owned)))
    return query


def inbox(user: User) -> Inbox:
    """READY steps this person may act on across their matters, oldest first, and the
    steps they have already claimed."""
    ready: list[InboxItem] = []
    claimed: list[InboxItem] = []
    now = utcnow()
    for row in db.session.execute(actionable_steps(user)):
        step = InboxStep(
            row.id, row.title, row.action_type, row.action_state, row.due_at, row.updated_at
        )
        item = InboxItem(
            step=step,
            instance=Named(row.instance_id, row.instance_title),
            matter=Named(row.matter_id, row.matter_title, row.reference),
            action_label=action_label(step.action_type),
            overdue=bool(step.due_at and step.due_at < now),
            since=step.updated_at,
        )
        (ready if step.action_state == StepState.READY else claimed).append(item)
    return Inbox(ready, claimed)
