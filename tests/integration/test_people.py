"""Firms, invitations, roles, deactivation and the password policy: through the API, the
pages and the create-firm command, on both databases."""

import threading
from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.conftest import WebClient, forget_request_user
from tests.integration.people_support import (
    delivered_invitations,
    link_token,
    token_of,
)
from tests.integration.support import count
from tests.integration.test_concurrency import WAIT_SECONDS, postgres_gate, sqlite_gate
from webapp.engine.errors import NotFound, Unprocessable
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import ApiToken, Invitation, Job, MatterMember, User, WorkflowEvent
from webapp.services import people
from webapp.services.auth import create_token
from webapp.services.passwords import password_problems

GOOD_PASSWORD = "kettle-orbit-maple-7"


def events(event_type: str) -> list[WorkflowEvent]:
    return list(
        db.session.scalars(select(WorkflowEvent).where(WorkflowEvent.event_type == event_type))
    )


def invite_by_api(api, email: str = "new.colleague@firm.test", role: str = "LAWYER") -> dict:
    response = api.post("/users", json={"email": email, "name": "New Colleague", "role": role})
    assert response.status_code == HTTPStatus.CREATED, response.json
    return response.json


def accept(client, token: str, password: str = GOOD_PASSWORD):
    """Open the link's page and set the password, as the browser does (CSRF included)."""
    forget_request_user()
    page = client.get(f"/invitations/{token}")
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    forget_request_user()
    return page, client.post(
        f"/invitations/{token}",
        data={"password": password, "confirm": password, "csrf_token": csrf},
    )


# ---- invitations --------------------------------------------------------------------------


def test_invitation_link_sets_a_password_once_and_refuses_a_second_use_when_reused(
    app, make_org, make_user, api_as
) -> None:
    admin = make_user(make_org(), Role.ADMIN)
    invited = invite_by_api(api_as(admin))
    assert invited["status"] == "invited"
    assert invited["invitationExpiresAt"]
    assert count(Job, Job.kind == people.INVITATION_JOB) == 1

    [message] = delivered_invitations(app)
    assert message["To"] == "new.colleague@firm.test"
    assert "invited you" in message.get_body(("plain",)).get_content()
    token = link_token(message)

    client = app.test_client()
    page, done = accept(client, token)
    assert page.status_code == HTTPStatus.OK
    assert "Welcome, New Colleague" in page.get_data(as_text=True)
    assert done.status_code == HTTPStatus.SEE_OTHER
    forget_request_user()
    assert client.get("/inbox").status_code == HTTPStatus.OK  # signed in straight away
    user = db.session.get(User, invited["id"])
    db.session.refresh(user)
    assert user.has_password and people.status_of(user) == "active"
    assert len(events("user.invitation_accepted")) == 1

    again = app.test_client()
    forget_request_user()
    refused = again.get(f"/invitations/{token}")
    assert refused.status_code == HTTPStatus.NOT_FOUND
    assert "already been used" in refused.get_data(as_text=True)
    with pytest.raises(NotFound, match="already been used"):
        people.accept_invitation(token, "another-strong-passphrase-9")
    web = WebClient(app.test_client())
    web.sign_in("new.colleague@firm.test", GOOD_PASSWORD)  # the first password stands


def test_invitation_link_is_refused_when_it_has_expired(
    app, make_org, make_user, api_as, clock
) -> None:
    admin = make_user(make_org(), Role.ADMIN)
    invited = invite_by_api(api_as(admin))
    token = link_token(delivered_invitations(app)[0])
    clock.advance(days=app.config["INVITATION_DAYS"], minutes=1)

    forget_request_user()
    response = app.test_client().get(f"/invitations/{token}")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "expired" in response.get_data(as_text=True)
    with pytest.raises(NotFound, match="expired"):
        people.accept_invitation(token, GOOD_PASSWORD)
    assert not db.session.get(User, invited["id"]).has_password


def test_invitation_link_is_refused_when_a_newer_one_replaced_it(
    app, make_org, make_user, api_as
) -> None:
    admin = make_user(make_org(), Role.ADMIN)
    api = api_as(admin)
    invited = invite_by_api(api)
    first = link_token(delivered_invitations(app)[0])
    resent = api.post(f"/users/{invited['id']}/invitation")
    assert resent.status_code == HTTPStatus.OK, resent.json
    second = link_token(delivered_invitations(app)[0])
    assert first != second

    with pytest.raises(NotFound, match="newer invitation"):
        people.accept_invitation(first, GOOD_PASSWORD)
    people.accept_invitation(second, GOOD_PASSWORD)
    again = api.post(f"/users/{invited['id']}/invitation")
    assert again.status_code == HTTPStatus.CONFLICT
    assert "already set a password" in again.json["error"]["message"]


def test_invitation_link_is_refused_when_tampered_with(app, make_org, make_user, api_as) -> None:
    admin = make_user(make_org(), Role.ADMIN)
    invite_by_api(api_as(admin))
    token = link_token(delivered_invitations(app)[0])
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(NotFound, match="not valid"):
        people.accept_invitation(forged, GOOD_PASSWORD)


def test_invite_is_refused_with_409_when_the_email_already_has_an_account(
    make_org, make_user, api_as
) -> None:
    org = make_org()
    admin, lawyer = make_user(org, Role.ADMIN), make_user(org, Role.LAWYER)
    response = api_as(admin).post(
        "/users", json={"email": lawyer.email.upper(), "name": "Twin", "role": "LAWYER"}
    )
    assert response.status_code == HTTPStatus.CONFLICT
    assert count(User) == 2


def test_lawyer_invites_a_client_but_not_a_colleague_when_asked(
    make_org, make_user, api_as
) -> None:
    org = make_org()
    make_user(org, Role.ADMIN)
    lawyer = make_user(org, Role.LAWYER)
    api = api_as(lawyer)
    refused = api.post("/users", json={"email": "x@firm.test", "name": "X", "role": "LAWYER"})
    assert refused.status_code == HTTPStatus.FORBIDDEN
    client = people.invite(lawyer, "client@home.test", "A Client", Role.CLIENT)
    assert client.org_id == org.id and client.role == Role.CLIENT
    assert api.get("/users").status_code == HTTPStatus.FORBIDDEN


# ---- the password policy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("short-one", "at least 12 characters"),
        ("jane.doe-and-more-words", "email address"),
        ("JANE.DOE@firm.test", "email address"),
        ("1qaz2wsx3edc", "most common passwords"),
        ("Password1234!", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
    ],
)
def test_password_policy_refuses_in_plain_words_when_short_personal_or_common(
    app, password: str, words: str
) -> None:
    problems = password_problems(password, "jane.doe@firm.test", "Jane Doe")
    assert problems and words in problems[0], problems


def test_password_policy_accepts_a_long_unrelated_passphrase(app) -> None:
    assert password_problems(GOOD_PASSWORD, "jane.doe@firm.test", "Jane Doe") == []


def test_invitation_page_shows_the_policy_refusal_and_keeps_the_link_when_too_common(
    app, make_org, make_user, api_as
) -> None:
    admin = make_user(make_org(), Role.ADMIN)
    invite_by_api(api_as(admin))
    token = link_token(delivered_invitations(app)[0])
    _page, refused = accept(app.test_client(), token, "Password1234!")
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "too easy to guess" in refused.get_data(as_text=True)
    _page, done = accept(app.test_client(), token)  # the link still works
    assert done.status_code == HTTPStatus.SEE_OTHER


def test_account_password_change_needs_the_current_password_and_the_policy(
    app, make_org, make_user, login_as
) -> None:
    lawyer = make_user(make_org(), Role.LAWYER)
    web = login_as(lawyer)
    wrong = web.post(
        "/account/password",
        {"current": "not-it", "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD},
    )
    assert wrong.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "current password is not right" in wrong.get_data(as_text=True)
    short = web.post(
        "/account/password", {"current": "demo-password", "password": "short", "confirm": "short"}
    )
    assert "at least 12 characters" in short.get_data(as_text=True)
    done = web.post(
        "/account/password",
        {"current": "demo-password", "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD},
    )
    assert done.status_code == HTTPStatus.SEE_OTHER
    WebClient(app.test_client()).sign_in(lawyer.email, GOOD_PASSWORD)
    assert len(events("user.password_changed")) == 1


# ---- roles and deactivation ---------------------------------------------------------------


def test_deactivated_user_session_and_token_are_refused_on_the_next_request(
    app, make_org, make_user, api_as, login_as
) -> None:
    org = make_org()
    admin, lawyer = make_user(org, Role.ADMIN), make_user(org, Role.LAWYER)
    web = login_as(lawyer)
    lawyer_api = api_as(lawyer)
    assert web.get("/inbox").status_code == HTTPStatus.OK
    assert lawyer_api.get("/matters").status_code == HTTPStatus.OK

    response = api_as(admin).patch(f"/users/{lawyer.id}", json={"active": False})
    assert response.status_code == HTTPStatus.OK, response.json
    assert response.json["status"] == "deactivated"

    page = web.get("/inbox")
    assert page.status_code == HTTPStatus.FOUND
    assert "/login" in page.headers["Location"]
    refused = lawyer_api.get("/matters")
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.json["error"]["code"] == "unauthorized"
    assert count(ApiToken, ApiToken.user_id == lawyer.id, ApiToken.revoked_at.is_(None)) == 0
    [event] = events("user.deactivated")
    assert event.actor_id == admin.id and event.payload["tokensRevoked"] == 1

    back = api_as(admin).patch(f"/users/{lawyer.id}", json={"active": True})
    assert back.json["status"] == "active"
    WebClient(app.test_client()).sign_in(lawyer.email)  # they sign in again


def test_deactivate_from_the_people_page_signs_the_person_out(
    make_org, make_user, login_as
) -> None:
    org = make_org()
    admin, paralegal = make_user(org, Role.ADMIN), make_user(org, Role.PARALEGAL)
    theirs = login_as(paralegal)
    admin_web = login_as(admin)
    page = admin_web.get("/admin/users")
    assert page.status_code == HTTPStatus.OK
    assert theirs.get("/admin/users").status_code == HTTPStatus.FORBIDDEN
    assert paralegal.email in page.get_data(as_text=True)
    done = admin_web.post(f"/admin/users/{paralegal.id}", {"active": "false"})
    assert done.status_code == HTTPStatus.SEE_OTHER
    assert "/login" in theirs.get("/inbox").headers["Location"]


def test_last_active_admin_cannot_deactivate_or_demote_themselves(
    make_org, make_user, api_as, login_as
) -> None:
    org = make_org()
    admin = make_user(org, Role.ADMIN)
    api = api_as(admin)
    invite_by_api(api, "pending.admin@firm.test", "ADMIN")  # invited: cannot sign in yet
    for body in ({"active": False}, {"role": "LAWYER"}):
        refused = api.patch(f"/users/{admin.id}", json=body)
        assert refused.status_code == HTTPStatus.CONFLICT, refused.json
        assert "last active administrator" in refused.json["error"]["message"]
    db.session.refresh(admin)
    assert admin.active and admin.role == Role.ADMIN

    web = login_as(admin)
    page = web.post(f"/admin/users/{admin.id}", {"active": "false"}, follow_redirects=True)
    assert "last active administrator" in page.get_data(as_text=True)

    second = make_user(org, Role.ADMIN)
    assert api.patch(f"/users/{admin.id}", json={"role": "LAWYER"}).status_code == HTTPStatus.OK
    assert second.is_admin


def test_role_change_moves_the_persons_matter_memberships_with_it(
    make_org, make_user, make_matter, api_as
) -> None:
    org = make_org()
    admin, lawyer, paralegal = (
        make_user(org, r) for r in (Role.ADMIN, Role.LAWYER, Role.PARALEGAL)
    )
    matter = make_matter(lawyer, paralegal)
    response = api_as(admin).patch(f"/users/{paralegal.id}", json={"role": "LAWYER"})
    assert response.json["role"] == "LAWYER"
    member = db.session.scalar(
        select(MatterMember).where(
            MatterMember.matter_id == matter.id, MatterMember.user_id == paralegal.id
        )
    )
    db.session.refresh(member)
    assert member.role == Role.LAWYER
    [event] = events("user.role_changed")
    assert event.payload["role"] == {"from": "PARALEGAL", "to": "LAWYER"}


def test_users_list_is_the_firms_by_name_with_status(make_org, make_user, api_as) -> None:
    org = make_org()
    admin = make_user(org, Role.ADMIN, "Zed Admin")
    make_user(org, Role.LAWYER, "Amy Lawyer")
    make_user(make_org(), Role.LAWYER, "Other Firm Lawyer")
    api = api_as(admin)
    invite_by_api(api, "bob@firm.test", "CLIENT")
    listed = api.get("/users").json
    assert listed["total"] == 3
    assert [u["name"] for u in listed["items"]] == ["Amy Lawyer", "New Colleague", "Zed Admin"]
    assert [u["status"] for u in listed["items"]] == ["active", "invited", "active"]
    assert api.get("/users?role=CLIENT").json["total"] == 1


# ---- firms never meet ---------------------------------------------------------------------


def test_other_firms_admin_gets_404_for_this_firms_users_and_tokens(
    make_org, make_user, api_as
) -> None:
    firm_a, firm_b = make_org("A"), make_org("B")
    lawyer_a = make_user(firm_a, Role.LAWYER)
    make_user(firm_a, Role.ADMIN)
    admin_b = make_user(firm_b, Role.ADMIN)
    created = api_as(lawyer_a).post("/tokens", json={"name": "sync"}).json
    api_b = api_as(admin_b)

    assert api_b.get(f"/users/{lawyer_a.id}").status_code == HTTPStatus.NOT_FOUND
    patch = api_b.patch(f"/users/{lawyer_a.id}", json={"active": False})
    assert patch.status_code == HTTPStatus.NOT_FOUND
    resend = api_b.post(f"/users/{lawyer_a.id}/invitation")
    assert resend.status_code == HTTPStatus.NOT_FOUND
    revoke = api_b.delete(f"/tokens/{created['id']}")
    assert revoke.status_code == HTTPStatus.NOT_FOUND
    listed = api_b.get("/tokens?scope=firm").json
    assert created["id"] not in [t["id"] for t in listed["items"]]
    assert lawyer_a.id not in [u["id"] for u in api_b.get("/users").json["items"]]
    db.session.refresh(lawyer_a)
    assert lawyer_a.active
    assert db.session.get(ApiToken, created["id"]).revoked_at is None


# ---- create-firm --------------------------------------------------------------------------


def test_create_firm_command_prints_a_one_time_link_that_sets_the_admins_password(app) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-firm", "Harbour & Finch LLP", "--admin", "Ada.Marsh@harbour.test"]
    )
    assert result.exit_code == 0, result.output
    assert "Harbour & Finch LLP" in result.output
    token = token_of(result.output)
    admin = db.session.scalar(select(User).where(User.email == "ada.marsh@harbour.test"))
    assert admin.role == Role.ADMIN and admin.name == "Ada Marsh" and not admin.has_password
    assert count(Invitation, Invitation.user_id == admin.id) == 1

    _page, done = accept(app.test_client(), token)
    assert done.status_code == HTTPStatus.SEE_OTHER
    with pytest.raises(NotFound):
        people.accept_invitation(token, GOOD_PASSWORD)
    WebClient(app.test_client()).sign_in("ada.marsh@harbour.test", GOOD_PASSWORD)
    assert len(events("firm.created")) == 1

    again = app.test_cli_runner().invoke(
        args=["create-firm", "Other", "--admin", "ada.marsh@harbour.test"]
    )
    assert again.exit_code != 0 and "already has an account" in again.output


def test_create_user_command_applies_the_password_policy(app, make_org) -> None:
    org = make_org()
    result = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "p@firm.test",
            "--name",
            "P",
            "--role",
            "LAWYER",
            "--org-id",
            str(org.id),
            "--password",
            "password1234",
        ]
    )
    assert result.exit_code != 0
    assert "common" in result.output or "too easy" in result.output
    assert count(User) == 0


def test_invite_refuses_a_malformed_email_with_422_naming_the_field(make_org, make_user) -> None:
    admin = make_user(make_org(), Role.ADMIN)
    with pytest.raises(Unprocessable) as refused:
        people.invite(admin, "not-an-address", "Someone", Role.LAWYER)
    assert refused.value.details[0]["field"] == "email"


def test_two_admins_demoting_each_other_at_once_leave_the_firm_one_admin(
    app, make_org, make_user, dialect, monkeypatch
) -> None:
    org = make_org()
    first, second = make_user(org, Role.ADMIN), make_user(org, Role.ADMIN)
    tokens = {first.id: create_token(first.email), second.id: create_token(second.email)}
    db.session.commit()
    results: list[int] = []
    failures: list[BaseException] = []

    def demote(actor_id: int, target_id: int) -> None:
        try:
            with app.app_context():
                response = app.test_client().patch(
                    f"/api/v1/users/{target_id}",
                    json={"role": "LAWYER"},
                    headers={"Authorization": f"Bearer {tokens[actor_id]}"},
                )
                results.append(response.status_code)
        except BaseException as error:  # surfaced by the assertion below
            failures.append(error)

    threads = [
        threading.Thread(target=demote, args=(first.id, second.id)),
        threading.Thread(target=demote, args=(second.id, first.id)),
    ]
    if dialect == "sqlite":
        gate = sqlite_gate(threading.Semaphore(0), monkeypatch)
    else:
        gate = postgres_gate("organizations", org.id)
    with gate as wait_for_both:
        for thread in threads:
            thread.start()
        wait_for_both()
    for thread in threads:
        thread.join(WAIT_SECONDS)

    assert not failures, failures
    assert sorted(results) == [HTTPStatus.OK, HTTPStatus.CONFLICT]
    db.session.expire_all()
    admins = count(User, User.org_id == org.id, User.role == Role.ADMIN, User.active)
    assert admins == 1


def test_invitation_link_is_refused_when_the_person_was_deactivated(
    app, make_org, make_user, api_as
) -> None:
    admin = make_user(make_org(), Role.ADMIN)
    api = api_as(admin)
    invited = invite_by_api(api)
    token = link_token(delivered_invitations(app)[0])
    assert api.patch(f"/users/{invited['id']}", json={"active": False}).status_code == 200
    with pytest.raises(NotFound, match="not valid"):
        people.accept_invitation(token, GOOD_PASSWORD)
    resend = api.post(f"/users/{invited['id']}/invitation")
    assert resend.status_code == HTTPStatus.CONFLICT
    assert "deactivated" in resend.json["error"]["message"]


def test_lawyer_resends_a_clients_invitation_but_a_colleagues_is_not_found(
    make_org, make_user, api_as
) -> None:
    org = make_org()
    admin, lawyer = make_user(org, Role.ADMIN), make_user(org, Role.LAWYER)
    client = people.invite(lawyer, "client@home.test", "A Client", Role.CLIENT)
    colleague = people.invite(admin, "new.lawyer@firm.test", "New Lawyer", Role.LAWYER)
    api = api_as(lawyer)
    assert api.post(f"/users/{client.id}/invitation").status_code == HTTPStatus.OK
    assert api.post(f"/users/{colleague.id}/invitation").status_code == HTTPStatus.NOT_FOUND
    assert len(events("user.invitation_resent")) == 1
