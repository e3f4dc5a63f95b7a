"""A matter's Workflows tab: its instances with their progress and drift."""

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import lazyload

from webapp.engine.roles import Role
from webapp.engine.states import DONE_STATES, TERMINAL_STATUSES
from webapp.extensions import db
from webapp.models import (
    InstanceChange,
    InstanceStep,
    Matter,
    User,
    WorkflowInstance,
    WorkflowTemplate,
)
from webapp.services.access import load_matter, matter_access
from webapp.services.templates import PUBLISHED, step_counts
from webapp.web.reads.common import is_staff
from webapp.web.reads.drift import DRIFT_LATER


@dataclass
class InstanceRow:
    instance: WorkflowInstance
    done: int
    total: int
    current_title: str | None


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    current_title: str | None


def progress_of_all(instances: list[WorkflowInstance], user: User) -> dict[int, Progress]:
    """Steps done of all steps per instance, and the current step's title when this
    person may see it (a client sees "with the firm" for a step that is not theirs): two
    statements for all the instances, counted and looked up by the database."""
    ids = [i.id for i in instances]
    if not ids:
        return {}
    counts = {
        instance_id: (done or 0, total)
        for instance_id, done, total in db.session.execute(
            select(
                InstanceStep.instance_id,
                func.sum(case((InstanceStep.action_state.in_(DONE_STATES), 1), else_=0)),
                func.count(),
            )
            .where(InstanceStep.instance_id.in_(ids))
            .group_by(InstanceStep.instance_id)
        )
    }
    current = {
        instance_id: (title, role_scope)
        for instance_id, title, role_scope in db.session.execute(
            select(InstanceStep.instance_id, InstanceStep.title, InstanceStep.role_scope)
            .join(
                WorkflowInstance,
                (WorkflowInstance.id == InstanceStep.instance_id)
                & (WorkflowInstance.current_step == InstanceStep.order),
            )
            # Both sides named, so the database looks up the page's instances by key
            # instead of hashing the whole instances table.
            .where(InstanceStep.instance_id.in_(ids), WorkflowInstance.id.in_(ids))
        )
    }
    found = {}
    for instance in instances:
        done, total = counts.get(instance.id, (0, 0))
        title = None
        if instance.id in current and instance.status not in TERMINAL_STATUSES:
            title, role_scope = current[instance.id]
            if user.role == Role.CLIENT and role_scope != Role.CLIENT:
                title = "With the firm"
        found[instance.id] = Progress(int(done), total, title)
    return found


def drift_of_all(instances: list[WorkflowInstance], user: User) -> dict[int, bool | str | None]:
    """Per instance: False (in sync) when nothing of its definition was ever changed and
    its base version exists, None when that version is gone, and "later" (the badge
    fetches the comparison once the page shows) for one that was tailored. Every change
    to an instance's definition is recorded in its change history, so an instance with
    none has nothing to compare: two statements for all the instances."""
    ids = [i.id for i in instances]
    if not ids:
        return {}
    tailored = set(
        db.session.scalars(
            select(InstanceChange.instance_id)
            .where(InstanceChange.instance_id.in_(ids), InstanceChange.change_type != "created")
            .distinct()
        )
    )
    keys = {(i.base_ref or {}).get("key") for i in instances}
    versions = set(
        db.session.execute(
            select(WorkflowTemplate.key, WorkflowTemplate.version).where(
                WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.key.in_(keys)
            )
        ).all()
    )
    found: dict[int, bool | str | None] = {}
    for instance in instances:
        if instance.id in tailored:
            found[instance.id] = DRIFT_LATER
        elif ((instance.base_ref or {}).get("key"), instance.template_version) in versions:
            found[instance.id] = False
        else:
            found[instance.id] = None
    return found


@dataclass
class MatterWorkflows:
    matter: Matter
    rows: list[InstanceRow]  # one page, newest first
    total: int  # the matter's workflows, on every page
    before: int | None  # the instance id this page starts below (None: the first page)
    next_before: int | None  # where the next page starts, when there is one
    step_counts: dict[int, int]  # template id -> its steps, for the start form
    templates: list[WorkflowTemplate]  # published versions to start from
    can_start: bool
    can_edit: bool  # close, archive, reopen: admins and the matter's owner
    can_delete: bool  # admins only
    # instance id -> drifted (None: base gone; "later": fetched once shown); not for clients
    drift: dict[int, bool | str | None]

    @property
    def status_actions(self) -> list[tuple[str, str]]:
        """(target status, button label) for what the matter can become next."""
        if not self.can_edit:
            return []
        return MATTER_ACTIONS.get(self.matter.status, [])


MATTER_ACTIONS = {
    "OPEN": [("CLOSED", "Close matter"), ("ARCHIVED", "Archive")],
    "CLOSED": [("OPEN", "Reopen"), ("ARCHIVED", "Archive")],
    "ARCHIVED": [("OPEN", "Reopen")],
}


PAGE_SIZE = 50


def _instances_page(
    user: User, matter: Matter, before: int | None, size: int
) -> tuple[list[WorkflowInstance], int, int | None]:
    """A page of the matter's instances, newest first, below `before` (keyset), with how
    many the matter has in all and where the next page starts."""
    mine = (WorkflowInstance.org_id == user.org_id) & (WorkflowInstance.matter_id == matter.id)
    query = (
        select(WorkflowInstance)
        .options(lazyload(WorkflowInstance.steps), lazyload(WorkflowInstance.matter))
        .where(mine)
        .order_by(WorkflowInstance.id.desc())
        .limit(size + 1)
    )
    if before is not None:
        query = query.where(WorkflowInstance.id < before)
    found = list(db.session.scalars(query))
    total = db.session.scalar(select(func.count()).select_from(WorkflowInstance).where(mine)) or 0
    shown = found[:size]
    return shown, total, shown[-1].id if len(found) > size else None


def matter_workflows(
    user: User, matter_id: int, before: int | None = None, size: int = PAGE_SIZE
) -> MatterWorkflows:
    matter = load_matter(matter_id, user)
    instances, total, next_before = _instances_page(user, matter, before, size)
    progress = progress_of_all(instances, user)
    rows = [
        InstanceRow(i, p.done, p.total, p.current_title)
        for i in instances
        for p in [progress[i.id]]
    ]
    templates: list[WorkflowTemplate] = []
    if is_staff(user):
        templates = list(
            db.session.scalars(
                select(WorkflowTemplate)
                .options(lazyload(WorkflowTemplate.steps))  # counted below, never read
                .where(WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.status == PUBLISHED)
                .order_by(WorkflowTemplate.name, WorkflowTemplate.version.desc())
            )
        )
    access = matter_access(matter)
    drift = {}
    if user.role != Role.CLIENT:
        drift = drift_of_all(instances, user)
    return MatterWorkflows(
        matter,
        rows,
        total,
        before,
        next_before,
        step_counts([t.id for t in templates]),
        templates,
        can_start=is_staff(user) and matter.status == "OPEN",
        can_edit=access.can_edit(user.id, user.role),
        can_delete=user.role == Role.ADMIN,
        drift=drift,
    )
