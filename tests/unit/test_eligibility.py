"""Who may act on a step: role scope, membership of the matter, assignment and claim."""

import pytest

from webapp.engine.eligibility import (
    Actor,
    MatterAccess,
    can_perform,
    resolve_eligible_actors,
    why_not,
)
from webapp.engine.roles import Role

ADMIN, OTHER_ADMIN = 1, 2
OWNER, LAWYER, OUTSIDE_LAWYER = 10, 11, 12
PARALEGAL, OUTSIDE_PARALEGAL = 20, 21
CLIENT, CO_CLIENT, OUTSIDE_CLIENT = 30, 31, 32

ROLES = {
    ADMIN: Role.ADMIN,
    OTHER_ADMIN: Role.ADMIN,
    OWNER: Role.LAWYER,
    LAWYER: Role.LAWYER,
    OUTSIDE_LAWYER: Role.LAWYER,
    PARALEGAL: Role.PARALEGAL,
    OUTSIDE_PARALEGAL: Role.PARALEGAL,
    CLIENT: Role.CLIENT,
    CO_CLIENT: Role.CLIENT,
    OUTSIDE_CLIENT: Role.CLIENT,
}
MATTER = MatterAccess(
    org_id=5,
    owner_id=OWNER,
    members={
        OWNER: Role.LAWYER,
        LAWYER: Role.LAWYER,
        PARALEGAL: Role.PARALEGAL,
        CLIENT: Role.CLIENT,
        CO_CLIENT: Role.CLIENT,
    },
    admin_ids=frozenset({ADMIN, OTHER_ADMIN}),
)


def actor(user_id: int, org_id: int = 5) -> Actor:
    return Actor(id=user_id, role=ROLES[user_id], org_id=org_id)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (Role.ADMIN, {ADMIN, OTHER_ADMIN}),
        (Role.LAWYER, {OWNER, LAWYER}),
        (Role.PARALEGAL, {PARALEGAL}),
        (Role.CLIENT, {CLIENT, CO_CLIENT}),
    ],
)
def test_eligible_actors_follow_the_role_scope_and_the_matter_when_unassigned(scope, expected):
    assert resolve_eligible_actors(scope, None, MATTER) == expected


def test_eligible_actors_include_the_owner_when_the_owner_is_not_a_listed_member() -> None:
    matter = MatterAccess(org_id=5, owner_id=OWNER, members={LAWYER: Role.LAWYER})
    assert resolve_eligible_actors(Role.LAWYER, None, matter) == {OWNER, LAWYER}


def test_eligible_actors_narrow_to_the_assignee_when_the_step_is_assigned() -> None:
    assert resolve_eligible_actors(Role.CLIENT, CO_CLIENT, MATTER) == {CO_CLIENT}


def test_eligible_actors_are_nobody_when_assigned_to_someone_outside_the_scope() -> None:
    assert resolve_eligible_actors(Role.CLIENT, PARALEGAL, MATTER) == set()


@pytest.mark.parametrize(
    ("scope", "user_id", "allowed"),
    [
        (Role.PARALEGAL, PARALEGAL, True),
        (Role.PARALEGAL, OUTSIDE_PARALEGAL, False),  # right role, not on the matter
        (Role.PARALEGAL, OWNER, False),  # on the matter, wrong role
        (Role.LAWYER, OWNER, True),
        (Role.LAWYER, LAWYER, True),
        (Role.LAWYER, OUTSIDE_LAWYER, False),
        (Role.LAWYER, ADMIN, False),  # admins are not lawyers of the matter
        (Role.CLIENT, CLIENT, True),
        (Role.CLIENT, OUTSIDE_CLIENT, False),
        (Role.CLIENT, OWNER, False),
        (Role.ADMIN, ADMIN, True),
        (Role.ADMIN, OWNER, False),
    ],
)
def test_can_perform_checks_role_and_matter_when_the_step_is_open(scope, user_id, allowed):
    assert can_perform(scope, None, None, actor(user_id), MATTER) is allowed


def test_can_perform_refuses_a_person_of_another_firm_when_ids_collide() -> None:
    assert can_perform(Role.PARALEGAL, None, None, actor(PARALEGAL), MATTER)
    assert not can_perform(Role.PARALEGAL, None, None, actor(PARALEGAL, org_id=6), MATTER)


def test_can_perform_allows_only_the_assignee_when_the_step_is_assigned() -> None:
    assert can_perform(Role.CLIENT, CO_CLIENT, None, actor(CO_CLIENT), MATTER)
    assert not can_perform(Role.CLIENT, CO_CLIENT, None, actor(CLIENT), MATTER)


def test_can_perform_allows_only_the_claimant_when_the_step_is_claimed() -> None:
    assert can_perform(Role.LAWYER, None, LAWYER, actor(LAWYER), MATTER)
    assert not can_perform(Role.LAWYER, None, LAWYER, actor(OWNER), MATTER)


def test_why_not_is_none_when_the_person_may_act() -> None:
    assert why_not(Role.LAWYER, None, None, actor(OWNER), MATTER) is None


@pytest.mark.parametrize(
    ("scope", "assigned", "claimed", "user_id", "sentence"),
    [
        (Role.LAWYER, None, LAWYER, OWNER, "Claimed by Lou."),
        (Role.CLIENT, CO_CLIENT, None, CLIENT, "Assigned to Cam."),
        (Role.CLIENT, None, None, OWNER, "Only the client can act on this step."),
        (Role.PARALEGAL, None, None, OWNER, "Only the matter's paralegals can act on this step."),
    ],
)
def test_why_not_explains_in_a_sentence_when_the_person_may_not_act(
    scope, assigned, claimed, user_id, sentence
):
    names = {LAWYER: "Lou", CO_CLIENT: "Cam"}
    assert why_not(scope, assigned, claimed, actor(user_id), MATTER, names) == sentence


@pytest.mark.parametrize(
    ("user_id", "sees", "edits"),
    [
        (ADMIN, True, True),
        (OWNER, True, True),
        (LAWYER, True, False),
        (PARALEGAL, True, False),
        (CLIENT, True, False),
        (OUTSIDE_LAWYER, False, False),
        (OUTSIDE_CLIENT, False, False),
    ],
)
def test_matter_access_lets_members_see_and_only_admins_and_owner_edit_when_asked(
    user_id, sees, edits
):
    assert MATTER.can_see(user_id, ROLES[user_id]) is sees
    assert MATTER.can_edit(user_id, ROLES[user_id]) is edits
