"""Ethical walls (ABA Model Rule 1.10): a person an admin screens from a matter finds
nothing of it anywhere — inbox, matters list, search, its pages, the runner, the API's
lists, its documents, step actions — exactly as if it did not exist; is never eligible,
assigned or added; and every refused attempt is kept as evidence the People tab and the
API list."""

import pytest
from sqlalchemy import select

from tests.integration.engine_support import publish, run_worker, smtp_server, start, step
from tests.integration.support import count, snapshot
from tests.integration.team_support import by_key, events_of, make_team, step_row
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import (
    Document,
    MatterMember,
    MatterScreen,
    SecurityEvent,
    SecurityEventKind,
    WallHit,
)

REASON = "Acted for the other side in the 2024 lease dispute"


@pytest.fixture
def team(make_org, make_user, make_matter, api_as):
    return make_team(make_org, make_user, make_matter, api_as)


def screen(team, person, reason: str = REASON):
    response = team.api["admin"].post(
        f"/matters/{team.matter.id}/screens", json={"userId": person.id, "reason": reason}
    )
    assert response.status_code == 201, response.json
    return response.json


def attempts(team) -> dict:
    response = team.api["admin"].get(f"/matters/{team.matter.id}/screens/attempts")
    assert response.status_code == 200
    return response.json


def test_screened_lawyer_finds_nothing_of_the_matter_and_each_attempt_is_evidence(team, login_as):
    matter_id, instance_id = team.matter.id, team.instance["id"]
    approval = by_key(team.instance, "approval")
    document = Document(
        org_id=team.matter.org_id,
        matter_id=matter_id,
        name="lease.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        storage_path="nowhere.pdf",
    )
    db.session.add(document)
    db.session.commit()
    web, api = login_as(team.lawyer), team.api["lawyer"]
    assert "Intake run" in web.get("/inbox").get_data(as_text=True)
    assert api.get("/matters").json["total"] == 1

    walled = screen(team, team.lawyer)

    assert (walled["userId"], walled["reason"]) == (team.lawyer.id, REASON)
    assert walled["screenedById"] == team.admin.id
    # The lists and searches: the matter is not there.
    assert api.get("/matters").json == {"items": [], "total": 0}
    assert api.get("/matters", query_string={"q": "WALL"}).json["total"] == 0
    assert api.get("/instances").json["total"] == 0
    inbox = web.get("/inbox").get_data(as_text=True)
    assert "Intake run" not in inbox and "WALL-001" not in inbox
    assert "WALL-001" not in web.get("/matters").get_data(as_text=True)
    assert "WALL-001" not in web.get("/matters?q=WALL").get_data(as_text=True)
    # Each thing of the matter asked for by its address: not found, as a missing one is.
    refused = [
        api.get(f"/matters/{matter_id}"),
        api.get(f"/matters/{matter_id}/members"),
        api.get(f"/instances/{instance_id}"),
        api.get(f"/instances/{instance_id}/events"),
        api.post(f"/steps/{approval['id']}/claim"),
        web.get(f"/matters/{matter_id}/workflows"),
        web.get(f"/matters/{matter_id}/people"),
        web.get(f"/matters/{matter_id}/workflows/{instance_id}"),
        web.post(f"/steps/{approval['id']}/claim"),
        web.get(f"/documents/{document.id}"),
    ]
    assert [r.status_code for r in refused] == [404] * len(refused)
    missing = api.get("/matters/999999").json["error"]
    assert refused[0].json["error"] == {**missing, "message": f"Matter {matter_id} was not found."}
    assert step_row(team, "approval").claimed_by_id is None

    evidence = attempts(team)
    assert evidence["total"] == len(refused)
    assert {a["userId"] for a in evidence["items"]} == {team.lawyer.id}
    tried = {a["attempted"] for a in evidence["items"]}
    assert f"GET /api/v1/matters/{matter_id}" in tried
    assert f"POST /api/v1/steps/{approval['id']}/claim" in tried
    assert f"GET /matters/{matter_id}/workflows/{instance_id}" in tried
    assert f"GET /documents/{document.id}" in tried
    # …and the firm's security log lists the same attempts as wall hits.
    logged = db.session.scalars(
        select(SecurityEvent).where(SecurityEvent.kind == SecurityEventKind.WALL_HIT)
    ).all()
    assert {(e.user_id, e.detail["attempted"]) for e in logged} == {
        (team.lawyer.id, a["attempted"]) for a in evidence["items"]
    }


def test_screened_person_leaves_the_team_and_their_steps_when_screened(team):
    approval = by_key(team.instance, "approval")
    assert team.api["lawyer"].post(f"/steps/{approval['id']}/claim").status_code == 200

    screen(team, team.lawyer)

    assert count(MatterMember, MatterMember.user_id == team.lawyer.id) == 0
    assert step_row(team, "approval").claimed_by_id is None
    types = [
        e.event_type
        for e in events_of(
            team.matter.id, "matter.member_removed", "step.released", "matter.screened"
        )
    ]
    assert types == ["matter.member_removed", "step.released", "matter.screened"]
    assert events_of(team.matter.id, "matter.screened")[0].payload == {
        "userId": team.lawyer.id,
        "reason": REASON,
    }


def test_screened_admin_sees_the_firm_without_the_matter_when_screened(team, login_as):
    admin = team.api["admin"]
    other = admin.post(
        "/matters", json={"reference": "OPEN-2", "title": "Elsewhere", "ownerId": team.owner.id}
    )
    assert other.status_code == 201
    refused = team.api["owner"].post(  # the owner is not an admin
        f"/matters/{team.matter.id}/screens", json={"userId": team.admin.id, "reason": REASON}
    )
    assert refused.status_code == 403
    assert count(MatterScreen) == 0

    wall = admin.post(
        f"/matters/{team.matter.id}/screens", json={"userId": team.admin.id, "reason": REASON}
    )
    assert wall.status_code == 201
    listed = admin.get("/matters").json
    assert [m["reference"] for m in listed["items"]] == ["OPEN-2"]
    assert admin.get("/instances").json["total"] == 0
    assert admin.get(f"/matters/{team.matter.id}").status_code == 404
    page = login_as(team.admin).get("/matters").get_data(as_text=True)
    assert "OPEN-2" in page and "WALL-001" not in page


def test_screened_person_cannot_be_assigned_or_added_to_the_team(team):
    screen(team, team.lawyer)
    approval = by_key(team.instance, "approval")
    before = snapshot()

    assigned = team.api["owner"].post(
        f"/steps/{approval['id']}/assign", json={"userId": team.lawyer.id}
    )
    added = team.api["owner"].post(
        f"/matters/{team.matter.id}/members", json={"userId": team.lawyer.id, "role": "LAWYER"}
    )

    assert assigned.status_code == 422
    assert "screened from this matter" in assigned.json["error"]["message"]
    assert added.status_code == 409
    assert "screened from this matter" in added.json["error"]["message"]
    assert "lift the screen" in added.json["error"]["message"]
    assert snapshot() == before


def test_screen_is_refused_and_changes_nothing_when_the_rules_say_no(team):
    matter = f"/matters/{team.matter.id}/screens"
    before = snapshot()
    by_owner = team.api["owner"].post(matter, json={"userId": team.lawyer.id, "reason": REASON})
    of_owner = team.api["admin"].post(matter, json={"userId": team.owner.id, "reason": REASON})
    blank = team.api["admin"].post(matter, json={"userId": team.lawyer.id, "reason": "  "})
    nobody = team.api["admin"].post(matter, json={"userId": 999999, "reason": REASON})
    assert [r.status_code for r in (by_owner, of_owner, blank, nobody)] == [403, 409, 422, 404]
    assert "responsible lawyer" in of_owner.json["error"]["message"]
    assert snapshot() == before
    assert count(MatterScreen) == 0 and count(WallHit) == 0


def test_lifted_screen_lets_the_person_be_added_again_and_keeps_the_evidence(team):
    screen(team, team.paralegal)
    assert team.api["paralegal"].get(f"/matters/{team.matter.id}").status_code == 404
    twice = team.api["admin"].post(
        f"/matters/{team.matter.id}/screens", json={"userId": team.paralegal.id, "reason": "again"}
    )
    assert twice.status_code == 409

    lifted = team.api["admin"].delete(f"/matters/{team.matter.id}/screens/{team.paralegal.id}")

    assert lifted.status_code == 200
    assert team.api["paralegal"].get(f"/matters/{team.matter.id}").status_code == 404  # not on it
    added = team.api["owner"].post(
        f"/matters/{team.matter.id}/members",
        json={"userId": team.paralegal.id, "role": "PARALEGAL"},
    )
    assert added.status_code == 201
    assert team.api["paralegal"].get(f"/matters/{team.matter.id}").status_code == 200
    # The evidence outlives the screen; the 404 after the lift was no wall's doing.
    assert attempts(team)["total"] == 1
    assert team.api["admin"].get(f"/matters/{team.matter.id}/screens").json["total"] == 0
    assert [e.event_type for e in events_of(team.matter.id, "matter.screen_lifted")] == [
        "matter.screen_lifted"
    ]


def test_screens_and_evidence_are_for_admins_and_the_owner_only(team):
    screen(team, team.lawyer)
    owner = team.api["owner"].get(f"/matters/{team.matter.id}/screens")
    assert owner.status_code == 200
    assert [(s["name"], s["reason"], s["screenedByName"]) for s in owner.json["items"]] == [
        ("Larry Lawyer", REASON, "Ada Admin")
    ]
    paralegal = team.api["paralegal"].get(f"/matters/{team.matter.id}/screens/attempts")
    assert paralegal.status_code == 403


def test_screened_admin_is_neither_told_nor_shown_the_matter_admin_steps(
    app, team, make_user, login_as, monkeypatch
):
    other_admin = make_user(team.admin.org, Role.ADMIN, "Otto Other")
    screen(team, team.admin, REASON)
    run_worker()  # what was queued before stays out of the count below
    template = publish(
        team.api["owner"],
        "Admin review",
        [step("review", "CHECKLIST", roleScope="ADMIN", config={"items": ["Look"]})],
    )
    with smtp_server() as (inbox, port):
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        monkeypatch.setitem(app.config, "NOTIFICATIONS_ENABLED", True)
        start(team.api["owner"], template, team.matter.id, title="Admin review run")
        run_worker()
        assert inbox.received.wait(5)
    assert [m["rcpt"] for m in inbox.messages] == [[other_admin.email]]
    screened_inbox = login_as(team.admin).get("/inbox").get_data(as_text=True)
    assert "Admin review run" not in screened_inbox
    assert "Admin review run" in login_as(other_admin).get("/inbox").get_data(as_text=True)


def test_screened_lawyer_keeps_no_notification_of_the_matter(team, login_as):
    """What they were told before the screen goes with it: the list, the page and the
    bell show nothing of the matter (issue 15 point 5); the others keep theirs."""
    api, web = team.api["lawyer"], login_as(team.lawyer)
    told = api.get("/notifications").json
    assert any(item["matterId"] == team.matter.id for item in told["items"])
    owner_told = team.api["owner"].get("/notifications").json["total"]

    screen(team, team.lawyer)

    assert api.get("/notifications").json["total"] == 0
    page = web.get("/notifications").get_data(as_text=True)
    assert "WALL-001" not in page and "Intake run" not in page
    assert 'data-unread="0"' in web.get("/notifications/bell").get_data(as_text=True)
    assert team.api["owner"].get("/notifications").json["total"] == owner_told
