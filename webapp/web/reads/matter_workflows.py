"""A matter's Workflows tab: its instances with their progress and drift."""

from dataclasses import dataclass

from sqlalchemy import select

from webapp.engine.roles import Role
from webapp.engine.states import DONE_STATES, TERMINAL_STATUSES
from webapp.extensions import db
from webapp.models import Matter, User, WorkflowInstance, WorkflowTemplate
from webapp.services.access import load_matter, matter_access
from webapp.services.instances import list_instances, visible_steps
from webapp.services.templates import PUBLISHED
from webapp.web.reads.common import is_staff
from webapp.web.reads.drift import drift_state


@dataclass
class InstanceRow:
    instance: WorkflowInstance
    done: int
    total: int
    current_title: str | None


def progress_of(instance: WorkflowInstance, user: User) -> tuple[int, int, str | None]:
    """Steps done of all steps, and the current step's title when this person may see it
    (a client sees "with the firm" for a step that is not theirs)."""
    steps = instance.steps
    done = sum(1 for s in steps if s.action_state in DONE_STATES)
    visible = {s.id for s in visible_steps(instance, user)}
    current = next((s for s in steps if s.order == instance.current_step), None)
    if current is None or instance.status in TERMINAL_STATUSES:
        return done, len(steps), None
    return done, len(steps), current.title if current.id in visible else "With the firm"


@dataclass
class MatterWorkflows:
    matter: Matter
    rows: list[InstanceRow]
    templates: list[WorkflowTemplate]  # published versions to start from
    can_start: bool
    can_edit: bool  # close, archive, reopen: admins and the matter's owner
    can_delete: bool  # admins only
    drift: dict[int, bool | None]  # instance id -> drifted (None: base gone); not for clients

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


def matter_workflows(user: User, matter_id: int) -> MatterWorkflows:
    matter = load_matter(matter_id, user)
    instances, _total = list_instances(user, matter_id=matter.id, limit=500)
    rows = [InstanceRow(i, *progress_of(i, user)) for i in instances]
    templates: list[WorkflowTemplate] = []
    if is_staff(user):
        templates = list(
            db.session.scalars(
                select(WorkflowTemplate)
                .where(WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.status == PUBLISHED)
                .order_by(WorkflowTemplate.name, WorkflowTemplate.version.desc())
            )
        )
    access = matter_access(matter)
    drift = {}
    if user.role != Role.CLIENT:
        drift = {i.id: drift_state(user, i.id) for i in instances}
    return MatterWorkflows(
        matter,
        rows,
        templates,
        can_start=is_staff(user) and matter.status == "OPEN",
        can_edit=access.can_edit(user.id, user.role),
        can_delete=user.role == Role.ADMIN,
        drift=drift,
    )
