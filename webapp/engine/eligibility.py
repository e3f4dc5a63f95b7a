"""Who may act on a step. `can_perform` is the one check behind every claim, start,
complete, fail, block and skip, whether it comes from a view, the API or a webhook."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from webapp.engine.roles import Role


@dataclass(frozen=True)
class MatterAccess:
    """The people around one matter, as plain ids."""

    org_id: int
    owner_id: int
    members: dict[int, str] = field(default_factory=dict)  # user id -> matter role
    admin_ids: frozenset[int] = frozenset()
    # Ethical walls: these people are kept away from the matter whatever their role.
    screened: frozenset[int] = frozenset()

    def ids_with(self, role: str) -> set[int]:
        return {user_id for user_id, member_role in self.members.items() if member_role == role}

    def can_see(self, user_id: int, user_role: str) -> bool:
        if user_id in self.screened:
            return False
        return user_role == Role.ADMIN or user_id == self.owner_id or user_id in self.members

    def can_edit(self, user_id: int, user_role: str) -> bool:
        if user_id in self.screened:
            return False
        return user_role == Role.ADMIN or user_id == self.owner_id


@dataclass(frozen=True)
class Actor:
    id: int
    role: str
    org_id: int


def resolve_eligible_actors(
    role_scope: str, assigned_to_id: int | None, matter: MatterAccess
) -> set[int]:
    if role_scope == Role.ADMIN:
        eligible = set(matter.admin_ids)
    elif role_scope == Role.LAWYER:
        eligible = {matter.owner_id} | matter.ids_with(Role.LAWYER)
    else:
        eligible = matter.ids_with(role_scope)
    eligible -= matter.screened  # a screened person is never eligible, nor told
    if assigned_to_id is not None:
        return eligible & {assigned_to_id}
    return eligible


def can_perform(
    role_scope: str,
    assigned_to_id: int | None,
    claimed_by_id: int | None,
    actor: Actor,
    matter: MatterAccess,
) -> bool:
    if actor.org_id != matter.org_id:
        return False
    if claimed_by_id is not None and claimed_by_id != actor.id:
        return False
    return actor.id in resolve_eligible_actors(role_scope, assigned_to_id, matter)


def why_not(
    role_scope: str,
    assigned_to_id: int | None,
    claimed_by_id: int | None,
    actor: Actor,
    matter: MatterAccess,
    names: dict[int, str] | None = None,
) -> str | None:
    """A sentence for the person who may not act, or None when they may."""
    if can_perform(role_scope, assigned_to_id, claimed_by_id, actor, matter):
        return None
    names = names or {}
    if claimed_by_id is not None and claimed_by_id != actor.id:
        return f"Claimed by {names.get(claimed_by_id, 'another person')}."
    if assigned_to_id is not None and assigned_to_id != actor.id:
        return f"Assigned to {names.get(assigned_to_id, 'another person')}."
    return f"Only {people_of(role_scope)} can act on this step."


ROLE_PEOPLE: dict[str, str] = {
    Role.ADMIN: "a firm administrator",
    Role.LAWYER: "the matter's lawyers",
    Role.PARALEGAL: "the matter's paralegals",
    Role.CLIENT: "the client",
}


def people_of(role: str) -> str:
    """Who a role's steps are for, in words: "the matter's paralegals"."""
    return ROLE_PEOPLE.get(role, role)


def names_of(users: Iterable[tuple[int, str]]) -> dict[int, str]:
    return dict(users)
