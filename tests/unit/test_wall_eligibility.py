"""The engine's side of an ethical wall: a screened person cannot see or edit the matter
and is never among those eligible for its steps, whatever their role, assignment or
ownership of the matter's other rows."""

import pytest

from webapp.engine.eligibility import Actor, MatterAccess, can_perform, resolve_eligible_actors
from webapp.engine.roles import Role

OWNER, LAWYER, PARALEGAL, ADMIN = 1, 2, 3, 4


def walled(*screened: int) -> MatterAccess:
    return MatterAccess(
        org_id=1,
        owner_id=OWNER,
        members={OWNER: Role.LAWYER, LAWYER: Role.LAWYER, PARALEGAL: Role.PARALEGAL},
        admin_ids=frozenset({ADMIN}),
        screened=frozenset(screened),
    )


@pytest.mark.parametrize(
    ("person", "role", "scope"),
    [(LAWYER, Role.LAWYER, Role.LAWYER), (ADMIN, Role.ADMIN, Role.ADMIN)],
)
def test_screened_person_is_never_eligible_when_their_role_would_be(person, role, scope):
    assert person in resolve_eligible_actors(scope, None, walled())
    access = walled(person)
    assert person not in resolve_eligible_actors(scope, None, access)
    assert resolve_eligible_actors(scope, person, access) == set()  # nor by assignment
    assert not can_perform(scope, None, None, Actor(person, role, 1), access)
    assert not access.can_see(person, role) and not access.can_edit(person, role)


def test_the_others_keep_their_access_when_someone_is_screened():
    access = walled(LAWYER)
    assert resolve_eligible_actors(Role.LAWYER, None, access) == {OWNER}
    assert access.can_see(PARALEGAL, Role.PARALEGAL) and access.can_edit(ADMIN, Role.ADMIN)
