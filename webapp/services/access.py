"""Who sees which matter. Every query is scoped to the actor's firm; a matter the
actor may not see is reported as not found, so its existence does not leak."""

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    any_,
    bindparam,
    func,
    literal,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute

from webapp.engine import permissions
from webapp.engine.eligibility import Actor, MatterAccess, people_of, resolve_eligible_actors
from webapp.engine.errors import NotAllowed, NotFound, Unprocessable
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, MatterMember, MatterScreen, User
from webapp.services import wall_hits


def actor_of(user: User) -> Actor:
    return Actor(id=user.id, role=user.role, org_id=user.org_id)


MEMBER, ADMIN, SCREENED = 0, 1, 2

# The matter's members, the firm's active admins and the people screened from the matter,
# in one query built once.
_PEOPLE = union_all(
    select(MatterMember.user_id, MatterMember.role, literal(MEMBER)).where(
        MatterMember.matter_id == bindparam("matter_id")
    ),
    select(User.id, User.role, literal(ADMIN)).where(
        User.org_id == bindparam("org_id"), User.role == Role.ADMIN, User.active
    ),
    select(MatterScreen.user_id, literal("", String(20)), literal(SCREENED)).where(
        MatterScreen.matter_id == bindparam("matter_id")
    ),
)


def matter_access(matter: Matter) -> MatterAccess:
    rows = db.session.execute(_PEOPLE, {"matter_id": matter.id, "org_id": matter.org_id}).all()
    return MatterAccess(
        org_id=matter.org_id,
        owner_id=matter.owner_id,
        members={user_id: role for user_id, role, kind in rows if kind == MEMBER},
        admin_ids=frozenset(user_id for user_id, _, kind in rows if kind == ADMIN),
        screened=frozenset(user_id for user_id, _, kind in rows if kind == SCREENED),
    )


def screened_from(user: User) -> Select:
    """The ids of the matters this person is screened from (the (user, matter) index)."""
    return select(MatterScreen.matter_id).where(MatterScreen.user_id == user.id)


def not_screened(matter_id: InstrumentedAttribute[int], user: User) -> ColumnElement[bool]:
    """A condition every set-based read applies: `matter_id` is not walled off from this
    person. Admins included: a screened admin sees the firm less that matter."""
    return matter_id.not_in(screened_from(user))


def refuse_if_screened(access: MatterAccess, user: User, matter_id: int) -> None:
    """Called where a person was refused a matter: if a wall refused them, keep the
    evidence (services/wall_hits). The caller answers not found either way."""
    if user.id in access.screened:
        wall_hits.note(access.org_id, matter_id, user.id)


def members_access(matter: Matter) -> MatterAccess:
    """The same as `matter_access`, from the matter's members already loaded (no admins:
    the rules read an admin's role, not the list)."""
    return MatterAccess(
        org_id=matter.org_id,
        owner_id=matter.owner_id,
        members={member.user_id: member.role for member in matter.members},
    )


def visible_matters(user: User) -> Select:
    """The firm's matters for an admin, the ones they own or are on for the others; never
    one they are screened from (the list, its count and search alike)."""
    query = select(Matter).where(Matter.org_id == user.org_id, not_screened(Matter.id, user))
    if user.role == Role.ADMIN:
        return query
    member_of = select(MatterMember.matter_id).where(MatterMember.user_id == user.id)
    return query.where(or_(Matter.owner_id == user.id, Matter.id.in_(member_of)))


def on_visible_matter(matter_id: InstrumentedAttribute[int], user: User) -> ColumnElement[bool]:
    """A condition: `matter_id` names a matter this person (not an admin) owns or is on.
    On PostgreSQL the ids are gathered first (`= ANY(ARRAY(...))`): written as `IN` with
    an `OR`, the planner took half the firm's matters to be visible and scanned every
    instance of the firm for a paralegal on 2% of them (60 ms, against 5 ms)."""
    mine = union(
        select(Matter.id).where(Matter.org_id == user.org_id, Matter.owner_id == user.id),
        select(MatterMember.matter_id).where(MatterMember.user_id == user.id),
    )
    if db.engine.dialect.name == "postgresql":
        return and_(
            matter_id == any_(func.array(mine.scalar_subquery())), not_screened(matter_id, user)
        )
    return and_(matter_id.in_(mine), not_screened(matter_id, user))


def load_matter(matter_id: int, user: User) -> Matter:
    matter = db.session.get(Matter, matter_id)
    if matter is None or matter.org_id != user.org_id:
        raise NotFound(f"Matter {matter_id} was not found.")
    access = matter_access(matter)
    if not access.can_see(user.id, user.role):
        refuse_if_screened(access, user, matter.id)
        raise NotFound(f"Matter {matter_id} was not found.")
    return matter


def require_editor(matter: Matter, user: User) -> MatterAccess:
    access = matter_access(matter)
    if not access.can_edit(user.id, user.role):
        raise NotAllowed("Only an admin or the matter's owner can change this workflow.")
    return access


def require_staff(user: User) -> None:
    if user.role not in (Role.ADMIN, Role.LAWYER):
        raise NotAllowed("Only admins and lawyers can manage workflow templates.")


def require_assignable(org_id: int, role: str, access: MatterAccess, user_id: int) -> None:
    """A step is assigned only to an active person of the firm who may act on it; who
    else exists is not said."""
    person = db.session.get(User, user_id)
    if person is None or person.org_id != org_id or not person.active:
        message = "No such person works at your firm."
        raise Unprocessable(message, [{"field": "userId", "message": message}])
    if user_id in access.screened:
        message = f"{person.name} is screened from this matter and cannot be given its steps."
        raise Unprocessable(message, [{"field": "userId", "message": message}])
    if user_id not in resolve_eligible_actors(role, None, access):
        message = f"{person.name} cannot act on this step: it is for {people_of(role)}."
        raise Unprocessable(message, [{"field": "userId", "message": message}])


def require_template_reader(user: User) -> None:
    """Templates are read by the roles that author them (engine/permissions)."""
    if not permissions.may_read_templates(actor_of(user)):
        raise NotAllowed("Only admins and lawyers can see workflow templates.")
