"""Matter teams through the API: the team listed with its roles, people added (and told of
the steps already waiting for them, by email over SMTP) and removed (their access ends at
their next request, their open steps on the matter are unassigned and unclaimed, each
audited), and a new matter opened with its client and team, all or nothing."""

import pytest
from sqlalchemy import select

from tests.integration.engine_support import run_worker, smtp_server
from tests.integration.support import count, snapshot
from tests.integration.team_support import by_key, events_of, make_team, step_row
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Invitation, Job, Matter, MatterMember, User
from webapp.services.auth import authenticate
from webapp.services.people import INVITATION_JOB


@pytest.fixture
def team(make_org, make_user, make_matter, api_as):
    return make_team(make_org, make_user, make_matter, api_as)


def test_members_are_listed_with_their_roles_when_the_team_is_asked_for(team):
    response = team.api["paralegal"].get(f"/matters/{team.matter.id}/members")
    assert response.status_code == 200
    assert response.json["total"] == 3
    listed = [(m["name"], m["role"]) for m in response.json["items"]]
    assert listed == [
        ("Olive Owner", "LAWYER"),
        ("Larry Lawyer", "LAWYER"),
        ("Pat Paralegal", "PARALEGAL"),
    ]


def test_removed_person_gets_404_and_their_open_steps_are_released_when_removed(team):
    approval = by_key(team.instance, "approval")
    owner, lawyer = team.api["owner"], team.api["lawyer"]
    assert (
        owner.post(f"/steps/{approval['id']}/assign", json={"userId": team.lawyer.id}).status_code
        == 200
    )
    assert lawyer.post(f"/steps/{approval['id']}/claim").status_code == 200
    assert lawyer.get(f"/matters/{team.matter.id}").status_code == 200

    response = owner.delete(f"/matters/{team.matter.id}/members/{team.lawyer.id}")

    assert response.status_code == 200
    assert team.lawyer.id not in [m["userId"] for m in response.json["members"]]
    assert lawyer.get(f"/matters/{team.matter.id}").status_code == 404
    assert lawyer.get(f"/instances/{team.instance['id']}").status_code == 404
    assert lawyer.get("/instances").json["total"] == 0
    assert lawyer.post(f"/steps/{approval['id']}/start").status_code == 404
    step = step_row(team, "approval")
    assert (step.assigned_to_id, step.claimed_by_id) == (None, None)
    assert step.action_state == "IN_PROGRESS"  # free for the matter's other lawyers
    released = events_of(team.matter.id, "step.released")
    assert [(e.step_id, e.actor_id, e.payload["userId"]) for e in released] == [
        (approval["id"], team.owner.id, team.lawyer.id)
    ]
    assert released[0].payload["unassigned"] and released[0].payload["unclaimed"]
    removed = events_of(team.matter.id, "matter.member_removed")
    assert [(e.payload["userId"], e.payload["role"]) for e in removed] == [
        (team.lawyer.id, Role.LAWYER)
    ]


def test_removing_is_refused_and_changes_nothing_when_not_the_owner_or_an_admin(team):
    before = snapshot()
    response = team.api["lawyer"].delete(f"/matters/{team.matter.id}/members/{team.paralegal.id}")
    assert response.status_code == 403
    assert snapshot() == before


def test_responsible_lawyer_stays_on_the_team_when_someone_tries_to_remove_them(team):
    response = team.api["admin"].delete(f"/matters/{team.matter.id}/members/{team.owner.id}")
    assert response.status_code == 409
    assert "responsible lawyer" in response.json["error"]["message"]


def test_removing_someone_not_on_the_team_is_not_found(team):
    response = team.api["owner"].delete(f"/matters/{team.matter.id}/members/{team.client.id}")
    assert response.status_code == 404


def test_person_added_is_emailed_the_steps_waiting_for_them_when_added(app, team, monkeypatch):
    other = team.api["owner"].delete(f"/matters/{team.matter.id}/members/{team.paralegal.id}")
    assert other.status_code == 200
    run_worker()  # nothing is waiting to be sent before the person is added again
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        monkeypatch.setitem(app.config, "NOTIFICATIONS_ENABLED", True)
        added = team.api["owner"].post(
            f"/matters/{team.matter.id}/members",
            json={"userId": team.paralegal.id, "role": "PARALEGAL"},
        )
        assert added.status_code == 201
        run_worker()
        assert inbox.received.wait(5)
    assert [m["rcpt"] for m in inbox.messages] == [[team.paralegal.email]]
    message = inbox.messages[0]["message"]
    assert message["Subject"] == f"You were added to matter {team.matter.reference}"
    body = message.get_content()
    assert "Conflicts (Intake run)" in body
    assert "Approval" not in body  # a lawyer's step is not theirs
    assert count(Job, Job.kind == "notify.member_added", Job.status == "DONE") == 1
    assert [e.payload for e in events_of(team.matter.id, "matter.member_added")] == [
        {"userId": team.paralegal.id, "role": "PARALEGAL"}
    ]


def test_new_matter_names_a_new_client_and_its_team_when_opened(team):
    response = team.api["owner"].post(
        "/matters",
        json={
            "reference": "NEW-1",
            "title": "Acquisition",
            "client": {"name": "Nora New", "email": "Nora@Client.test"},
            "team": [{"userId": team.paralegal.id, "role": "PARALEGAL"}],
        },
    )
    assert response.status_code == 201, response.json
    members = {(m["name"], m["role"]) for m in response.json["members"]}
    assert members == {
        ("Olive Owner", "LAWYER"),
        ("Nora New", "CLIENT"),
        ("Pat Paralegal", "PARALEGAL"),
    }
    client = db.session.scalar(select(User).where(User.email == "nora@client.test"))
    assert (client.role, client.org_id) == (Role.CLIENT, team.owner.org_id)
    assert authenticate("nora@client.test", "!") is None  # no usable password yet
    invitation = db.session.scalar(select(Invitation).where(Invitation.user_id == client.id))
    assert invitation is not None and invitation.accepted_at is None
    assert count(Job, Job.kind == INVITATION_JOB, Job.status == "PENDING") == 1  # the email


def test_new_matter_takes_an_existing_client_when_named_by_id(team):
    response = team.api["owner"].post(
        "/matters", json={"reference": "NEW-2", "title": "Lease", "clientId": team.client.id}
    )
    assert response.status_code == 201
    assert ("Cleo Client", "CLIENT") in {(m["name"], m["role"]) for m in response.json["members"]}


@pytest.mark.parametrize(
    "extra",
    [
        {"clientId": "lawyer"},
        {"team": [{"userId": "client", "role": "LAWYER"}]},
        {"client": {"name": "Dup", "email": "taken"}},
    ],
)
def test_new_matter_is_not_opened_at_all_when_its_client_or_team_is_wrong(team, extra):
    ids = {"lawyer": team.lawyer.id, "client": team.client.id}
    body = {"reference": "NEW-3", "title": "Refused"}
    if "clientId" in extra:
        body["clientId"] = ids[extra["clientId"]]
    if "team" in extra:
        body["team"] = [{"userId": ids["client"], "role": "LAWYER"}]
    if "client" in extra:
        body["client"] = {"name": "Dup", "email": team.lawyer.email}
    users = count(User)
    response = team.api["owner"].post("/matters", json=body)
    assert response.status_code in (409, 422)
    assert response.json["error"]["message"]
    assert count(Matter, Matter.reference == "NEW-3") == 0
    assert count(User) == users


def test_person_already_on_the_team_is_a_conflict_when_added_again(team):
    response = team.api["owner"].post(
        f"/matters/{team.matter.id}/members", json={"userId": team.lawyer.id, "role": "LAWYER"}
    )
    assert response.status_code == 409
    assert "already on this matter" in response.json["error"]["message"]
    assert count(MatterMember, MatterMember.matter_id == team.matter.id) == 3
    assert count(Job, Job.kind == "notify.member_added") == 0  # nobody is told twice
