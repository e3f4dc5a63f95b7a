"""The People tab and the New matter form, as a browser session uses them: the team with
its roles, adding someone, removing them after a confirmation (their access ends at their
next request), screening a person with a reason (refused without one, in plain words),
the walls and their evidence shown to admins and the owner only; a new matter opened with
its client and team. The tab's reads stay bounded whatever the team's size."""

from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.integration.support import count
from tests.integration.team_support import make_team
from tests.integration.test_page_reads import statements
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, MatterMember, MatterScreen, User


@pytest.fixture
def team(make_org, make_user, make_matter, api_as):
    return make_team(make_org, make_user, make_matter, api_as)


def people_url(team) -> str:
    return f"/matters/{team.matter.id}/people"


def test_people_tab_lists_the_team_with_roles_and_who_may_be_added(team, login_as):
    page = login_as(team.owner).get(people_url(team))
    body = page.get_data(as_text=True)
    assert page.status_code == HTTPStatus.OK
    team_card = body[body.index('id="team-card"') : body.index('id="add-person"')]
    assert team_card.index("Olive Owner") < team_card.index("Larry Lawyer")
    assert team_card.index("Larry Lawyer") < team_card.index("Pat Paralegal")
    assert "responsible" in team_card and team_card.count("Remove…") == 2
    add_form = body[body.index('id="add-person"') :]
    assert "Cleo Client (Client)" in add_form and "Ada Admin" not in add_form
    assert 'aria-current="page">People' in body
    assert 'id="walls-card"' in body and 'id="screen-person"' not in body  # the owner


def test_people_tab_shows_the_team_only_when_a_member_reads_it(team, login_as):
    body = login_as(team.paralegal).get(people_url(team)).get_data(as_text=True)
    assert "Olive Owner" in body
    assert "Remove…" not in body and 'id="add-person"' not in body
    assert 'id="walls-card"' not in body and 'id="screen-person"' not in body


def test_person_added_with_the_form_joins_with_their_own_role(team, login_as):
    web = login_as(team.owner)
    response = web.post(people_url(team), data={"user_id": team.client.id})
    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response.headers["Location"].endswith(people_url(team))
    role = db.session.scalar(
        select(MatterMember.role).where(
            MatterMember.matter_id == team.matter.id, MatterMember.user_id == team.client.id
        )
    )
    assert role == Role.CLIENT
    page = web.get(people_url(team)).get_data(as_text=True)
    assert "Added to the team" in page


def test_adding_without_choosing_anyone_is_refused_in_place(team, login_as):
    response = login_as(team.owner).post(people_url(team), data={"user_id": ""})
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "Choose a person to add." in response.get_data(as_text=True)


def test_removal_asks_first_and_the_removed_person_gets_404_next(team, login_as):
    web, lawyer = login_as(team.owner), login_as(team.lawyer)
    confirm = web.get(f"{people_url(team)}?confirm={team.lawyer.id}").get_data(as_text=True)
    dialog = confirm[confirm.index(f'id="remove-{team.lawyer.id}"') :]
    assert dialog.split(">", 1)[0].endswith("open")  # the dialog without JavaScript
    assert "Remove Larry Lawyer?" in dialog and "loses access" in dialog
    assert lawyer.get(f"/matters/{team.matter.id}/workflows").status_code == HTTPStatus.OK

    removed = web.post(f"{people_url(team)}/{team.lawyer.id}/remove")

    assert removed.status_code == HTTPStatus.SEE_OTHER
    assert lawyer.get(f"/matters/{team.matter.id}/workflows").status_code == HTTPStatus.NOT_FOUND
    assert count(MatterMember, MatterMember.user_id == team.lawyer.id) == 0


def test_screen_with_a_reason_shows_in_the_walls_with_its_evidence(team, login_as):
    admin, lawyer = login_as(team.admin), login_as(team.lawyer)
    screened = admin.post(
        f"/matters/{team.matter.id}/screens",
        data={"user_id": team.lawyer.id, "reason": "Acted for the landlord"},
    )
    assert screened.status_code == HTTPStatus.SEE_OTHER
    assert lawyer.get(people_url(team)).status_code == HTTPStatus.NOT_FOUND

    body = admin.get(people_url(team)).get_data(as_text=True)
    walls = body[body.index('id="walls-card"') :]
    row = walls[walls.index(f'id="screen-{team.lawyer.id}"') :]
    assert "Larry Lawyer" in row and "Acted for the landlord" in row and "Ada Admin" in row
    assert f"GET /matters/{team.matter.id}/people" in walls  # the refused attempt
    assert "Refused attempts" in walls
    team_card = body[body.index('id="team-card"') : body.index('id="walls-card"')]
    assert "Larry Lawyer" not in team_card


def test_screen_without_a_reason_is_refused_in_plain_words(team, login_as):
    response = login_as(team.admin).post(
        f"/matters/{team.matter.id}/screens", data={"user_id": team.lawyer.id, "reason": " "}
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "Give the reason for the screen" in response.get_data(as_text=True)
    assert count(MatterScreen) == 0


def test_new_matter_form_opens_a_matter_with_a_new_client_and_a_team(team, login_as):
    web = login_as(team.owner)
    form = web.get("/matters").get_data(as_text=True)
    assert 'name="client_id"' in form and "Cleo Client" in form and 'name="team"' in form
    response = web.post(
        "/matters",
        data={
            "reference": "FORM-1",
            "title": "Share purchase",
            "owner_id": team.owner.id,
            "client_id": "new",
            "client_name": "Nils Newman",
            "client_email": "nils@client.test",
            "team": [str(team.paralegal.id), str(team.lawyer.id)],
        },
    )
    assert response.status_code == HTTPStatus.SEE_OTHER
    matter = db.session.scalar(select(Matter).where(Matter.reference == "FORM-1"))
    db.session.refresh(matter)
    assert {(m.user.name, m.role) for m in matter.members} == {
        ("Olive Owner", Role.LAWYER),
        ("Larry Lawyer", Role.LAWYER),
        ("Pat Paralegal", Role.PARALEGAL),
        ("Nils Newman", Role.CLIENT),
    }


def test_new_matter_form_refuses_a_new_client_without_an_email_and_opens_nothing(team, login_as):
    response = login_as(team.owner).post(
        "/matters",
        data={"reference": "FORM-2", "title": "T", "client_id": "new", "client_name": "No Mail"},
    )
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "A new client needs a name and an email address." in response.get_data(as_text=True)
    assert count(Matter, Matter.reference == "FORM-2") == 0
    assert count(User, User.name == "No Mail") == 0


def test_people_tab_sends_as_many_statements_for_a_big_team_as_for_a_small_one(
    team, login_as, make_user
):
    web = login_as(team.admin)
    org = team.admin.org
    counts = []
    for _round in range(2):
        web.get(people_url(team))  # a first request warms the caches
        with statements() as sent:
            assert web.get(people_url(team)).status_code == HTTPStatus.OK
        counts.append(len(sent))
        for _n in range(8):  # a bigger team and firm, and more evidence
            person = make_user(org, Role.PARALEGAL)
            team.api["owner"].post(
                f"/matters/{team.matter.id}/members",
                json={"userId": person.id, "role": "PARALEGAL"},
            )
    assert counts[0] == counts[1]
