"""The matter's People tab: its team with their roles, who may be added, and — for admins
and the matter's owner — the people screened from it (ethical walls) and the attempts the
walls refused. A bounded number of queries whatever the firm's size: the matter and its
people (two), the firm's people not on it (one), the screens and the evidence (three)."""

from dataclasses import dataclass, field

from sqlalchemy import select

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, MatterMember, MatterScreen, User
from webapp.services.access import load_matter, matter_access
from webapp.services.team import ROLE_ORDER, team_of
from webapp.services.walls import Evidence, matter_evidence

ROLE_GROUPS = {
    Role.LAWYER: "Lawyers",
    Role.PARALEGAL: "Paralegals",
    Role.CLIENT: "Clients",
    Role.ADMIN: "Admins",
}


@dataclass
class MatterPeople:
    matter: Matter
    team: list[MatterMember]
    can_manage: bool  # add and remove: admins and the matter's owner
    can_screen: bool  # admins
    sees_walls: bool  # the screens and their evidence: admins and the owner
    candidates: dict[str, list[User]] = field(default_factory=dict)  # by role, not on it
    evidence: Evidence | None = None
    screenable: list[User] = field(default_factory=list)  # the firm's people a wall may name

    @property
    def screened_ids(self) -> set[int]:
        return {wall.user_id for wall in self.evidence.screens} if self.evidence else set()


def matter_people(user: User, matter_id: int) -> MatterPeople:
    matter = load_matter(matter_id, user)
    access = matter_access(matter)
    can_manage = access.can_edit(user.id, user.role)
    sees_walls = user.role == Role.ADMIN or user.id == matter.owner_id
    view = MatterPeople(
        matter,
        team_of(matter),
        can_manage=can_manage,
        can_screen=user.role == Role.ADMIN,
        sees_walls=sees_walls,
    )
    others: list[User] = []
    if can_manage:
        others = _others(matter)
        for person in others:
            if person.role != Role.ADMIN:
                view.candidates.setdefault(person.role, []).append(person)
        view.candidates = {
            role: view.candidates[role]
            for role in sorted(view.candidates, key=lambda r: ROLE_ORDER.get(r, 9))
        }
    if sees_walls:
        view.evidence = matter_evidence(matter, limit=50, offset=0)
    if view.can_screen:
        on_team = [m.user for m in view.team if m.user_id != matter.owner_id]
        view.screenable = sorted(
            [*on_team, *others], key=lambda p: (ROLE_ORDER.get(p.role, 9), p.name.lower())
        )
    return view


def _others(matter: Matter) -> list[User]:
    """The firm's active people neither on the team nor screened from the matter."""
    on_team = select(MatterMember.user_id).where(MatterMember.matter_id == matter.id)
    walled = select(MatterScreen.user_id).where(MatterScreen.matter_id == matter.id)
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.org_id == matter.org_id,
                User.active,
                User.id.not_in(on_team),
                User.id.not_in(walled),
            )
            .order_by(User.name)
        )
    )
