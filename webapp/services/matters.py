"""Matters and the people on them."""

from sqlalchemy import func, or_, select

from webapp.engine.errors import Conflict, Invalid, NotAllowed, NotFound
from webapp.engine.roles import MEMBER_ROLES, Role
from webapp.extensions import db
from webapp.models import Matter, MatterMember, User
from webapp.services.access import load_matter, require_editor, visible_matters
from webapp.services.base import record_event, transactional

MATTER_STATUSES = ("OPEN", "CLOSED", "ARCHIVED")


def list_matters(
    user: User, q: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Matter], int]:
    query = visible_matters(user)
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(
            or_(func.lower(Matter.reference).like(pattern), func.lower(Matter.title).like(pattern))
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(Matter.reference).limit(limit).offset(offset)).all()
    return list(rows), total


def get_matter(user: User, matter_id: int) -> Matter:
    return load_matter(matter_id, user)


def _org_user(user: User, user_id: int) -> User:
    other = db.session.get(User, user_id)
    if other is None or other.org_id != user.org_id:
        raise NotFound(f"User {user_id} was not found.")
    return other


@transactional
def create_matter(user: User, reference: str, title: str, owner_id: int | None = None) -> Matter:
    if user.role not in (Role.ADMIN, Role.LAWYER):
        raise NotAllowed("Only admins and lawyers can open matters.")
    reference, title = reference.strip(), title.strip()
    if not reference or not title:
        raise Invalid("A matter needs a reference and a title.")
    owner = _org_user(user, owner_id) if owner_id else user
    if owner.role != Role.LAWYER:
        raise Invalid("The owner of a matter must be a lawyer.")
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
    return matter


@transactional
def add_member(user: User, matter_id: int, member_id: int, role: str) -> Matter:
    matter = load_matter(matter_id, user)
    require_editor(matter, user)
    if role not in MEMBER_ROLES:
        raise Invalid(f"A member's role is one of {', '.join(MEMBER_ROLES)}.")
    member = _org_user(user, member_id)
    if member.role != role:
        raise Invalid(f"{member.name} is a {member.role.lower()}, not a {role.lower()}.")
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
    return matter
