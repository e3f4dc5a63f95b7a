"""The people on a matter: its team in order, the client a new matter names, and what
leaving the team means — no access from the next request, and none of the matter's open
steps kept waiting on the person who left. Helpers of the matter door (services/matters,
services/walls): they flush and audit, the door commits."""

from sqlalchemy import func, or_, select

from webapp.engine.errors import Conflict, Unprocessable
from webapp.engine.roles import Role
from webapp.engine.states import StepState
from webapp.engine.text import refuse_line_breaks
from webapp.extensions import db
from webapp.models import InstanceStep, Matter, MatterMember, User, WorkflowInstance
from webapp.persistence.journal import enqueue, record_event
from webapp.services import people

# The order a team is listed in: who runs the matter first, the client last.
ROLE_ORDER: dict[str, int] = {Role.LAWYER: 0, Role.PARALEGAL: 1, Role.ADMIN: 2, Role.CLIENT: 3}
# Steps still to be worked: an assignment or a claim on them keeps them waiting on someone.
OPEN_STEP_STATES = (StepState.PENDING, StepState.READY, StepState.IN_PROGRESS, StepState.BLOCKED)
MEMBER_ADDED = "notify.member_added"


def team_of(matter: Matter) -> list[MatterMember]:
    """The matter's members (loaded with it), the responsible lawyer first, then by role
    and name."""
    return sorted(
        matter.members,
        key=lambda m: (
            m.user_id != matter.owner_id,
            ROLE_ORDER.get(m.role, 9),
            m.user.name.lower(),
        ),
    )


def new_client(actor: User, name: str, email: str) -> User:
    """A new contact of the firm, a CLIENT, invited by email to set a password (the people
    service's invitation: its audit row, its one-use link). The one place a client is
    created from a matter."""
    name, email = name.strip(), email.strip().lower()
    if not name or "@" not in email or len(email) > 320 or len(name) > 200:
        message = "A new client needs a name and an email address."
        raise Unprocessable(message, [{"field": "client", "message": message}])
    refuse_line_breaks(name, "A client's name", "clientName")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict(
            f"Someone with the email {email} already exists: choose them as an existing client."
        )
    return people.invite(actor, email, name, Role.CLIENT)


def tell_added(matter: Matter, person: User) -> None:
    """After the commit, the worker emails the person the steps already waiting for them
    on the matter (services/notifications)."""
    enqueue(
        MEMBER_ADDED,
        {"matterId": matter.id, "userId": person.id},
        org_id=matter.org_id,
    )


def release_steps(actor: User, matter: Matter, person: User, why: str) -> list[int]:
    """Unassign and unclaim this person on the matter's open steps, one audit row each.
    A step they had in progress stays in progress, free for the others its role allows
    (as when a step is assigned to someone else). The instances are locked first, as the
    step door locks them, so a step action on one of them waits for this change."""
    held = db.session.scalars(
        select(InstanceStep)
        .join(WorkflowInstance, WorkflowInstance.id == InstanceStep.instance_id)
        .where(
            WorkflowInstance.matter_id == matter.id,
            WorkflowInstance.org_id == matter.org_id,
            InstanceStep.action_state.in_(OPEN_STEP_STATES),
            or_(InstanceStep.assigned_to_id == person.id, InstanceStep.claimed_by_id == person.id),
        )
        .order_by(InstanceStep.instance_id, InstanceStep.id)
        .with_for_update(of=WorkflowInstance)
        .execution_options(populate_existing=True)
    ).all()
    for step in held:
        unassigned = step.assigned_to_id == person.id
        unclaimed = step.claimed_by_id == person.id
        if unassigned:
            step.assigned_to_id = None
        if unclaimed:
            step.claimed_by_id = None
        record_event(
            org_id=matter.org_id,
            event_type="step.released",
            actor_id=actor.id,
            matter_id=matter.id,
            instance_id=step.instance_id,
            step_id=step.id,
            payload={
                "key": step.key,
                "userId": person.id,
                "unassigned": unassigned,
                "unclaimed": unclaimed,
                "why": why,
            },
        )
    return [step.id for step in held]


def drop_member(actor: User, matter: Matter, person: User, why: str) -> list[int]:
    """Take the person off the team (if they are on it) and release their open steps;
    the ids of the steps released."""
    member = next((m for m in matter.members if m.user_id == person.id), None)
    if member is not None:
        matter.members.remove(member)
        record_event(
            org_id=matter.org_id,
            event_type="matter.member_removed",
            actor_id=actor.id,
            matter_id=matter.id,
            payload={"userId": person.id, "role": member.role, "why": why},
        )
    released = release_steps(actor, matter, person, why)
    db.session.flush()
    return released
