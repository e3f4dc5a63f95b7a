"""Small reads several pages share: people's names, the action types, whether a person
is staff, an instance looked up through its matter."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import contains_eager, defer, lazyload

from webapp.engine.actions import get_handler
from webapp.engine.actions.catalog import CATEGORY_LABELS, ordered_handlers
from webapp.engine.eligibility import MatterAccess
from webapp.engine.errors import NotFound, UnknownActionType
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, User, WorkflowInstance
from webapp.services.access import matter_access, refuse_if_screened
from webapp.services.instances import load_instance

STAFF = (Role.ADMIN, Role.LAWYER)


def names_of(org_id: int, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.session.execute(
        select(User.id, User.name).where(User.org_id == org_id, User.id.in_(wanted))
    )
    return {user_id: name for user_id, name in rows}


def is_staff(user: User) -> bool:
    return user.role in STAFF


@dataclass(frozen=True)
class ActionType:
    type: str
    label: str
    description: str
    automated: bool
    category: str
    category_label: str  # the group the action pickers show it in


def action_types() -> list[ActionType]:
    """Every registered type from the action catalog, by category (people's first) and
    label; a new handler appears here by itself."""
    return [
        ActionType(
            h.type, h.label, h.description, h.automated, h.category, CATEGORY_LABELS[h.category]
        )
        for h in ordered_handlers()
    ]


def is_automated(action_type: str) -> bool:
    try:
        return get_handler(action_type).automated
    except UnknownActionType:
        return False


def action_label(action_type: str) -> str:
    try:
        return get_handler(action_type).label
    except UnknownActionType:  # a type no longer registered still renders, by its name
        return action_type


def performs(events: Iterable[str]) -> bool:
    """Skipping and assigning are an admin's or owner's overrides, not the work itself:
    they do not make a step theirs."""
    return bool(set(events) - {"skip", "assign"})


def instance_on_matter(user: User, matter_id: int, instance_id: int) -> WorkflowInstance:
    instance = load_instance(instance_id, user)
    if instance.matter_id != matter_id:
        raise NotFound(f"Workflow instance {instance_id} was not found.")
    return instance


def instance_and_access(
    user: User, matter_id: int | None, instance_id: int, known: MatterAccess | None = None
) -> tuple[WorkflowInstance, MatterAccess]:
    """An instance with its matter in one statement, without its steps or the matter's
    members (a page reads what it shows of them), and the matter's people in one more
    (none when the caller passes them as `known`).
    Not found alike whether it does not exist, is another firm's, is on another matter
    than `matter_id` or is not this person's to see."""
    found = db.session.scalar(
        select(WorkflowInstance)
        .join(Matter, Matter.id == WorkflowInstance.matter_id)
        .options(
            contains_eager(WorkflowInstance.matter).lazyload(Matter.members),
            lazyload(WorkflowInstance.steps),
            # The outputs and parameters grow with the instance; a page that shows them
            # (a done automated step's output) reads them when it does.
            defer(WorkflowInstance.step_data),
            defer(WorkflowInstance.context),
        )
        .where(
            WorkflowInstance.id == instance_id,
            WorkflowInstance.org_id == user.org_id,
            Matter.org_id == user.org_id,
        )
    )
    missing = NotFound(f"Workflow instance {instance_id} was not found.")
    if found is None or (matter_id is not None and found.matter_id != matter_id):
        raise missing
    # `known`: the matter's people as the change this page answers read them a moment ago.
    access = known if known is not None and known.org_id == found.org_id else None
    access = access or matter_access(found.matter)
    if not access.can_see(user.id, user.role):
        refuse_if_screened(access, user, found.matter_id)
        raise missing
    return found, access
