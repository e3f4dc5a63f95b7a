"""Personal API tokens: created with a name and an expiry and shown once, listed with
their last use (written at most once a minute), revoked; expired and revoked tokens get
401 with the JSON error body. Through the API and the pages, on both databases."""

from http import HTTPStatus

from tests.conftest import ApiClient
from tests.integration.support import count
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import ApiToken, WorkflowEvent
from webapp.services.auth import hash_token


def created_token(api, name: str = "Practice sync", **extra) -> dict:
    response = api.post("/tokens", json={"name": name, **extra})
    assert response.status_code == HTTPStatus.CREATED, response.json
    return response.json


def test_created_token_works_is_shown_once_and_only_its_hash_is_stored(
    app, make_org, make_user, api_as, clock
) -> None:
    lawyer = make_user(make_org(), Role.LAWYER)
    created = created_token(api_as(lawyer), expiresInDays=30)
    assert created["token"].startswith("mf_")
    assert created["expiresAt"].startswith("2027-01-06T08:00")
    row = db.session.get(ApiToken, created["id"])
    assert row.token_hash == hash_token(created["token"]) and created["token"] not in row.token_hash

    own = ApiClient(app.test_client(), created["token"])
    assert own.get("/matters").status_code == HTTPStatus.OK
    listed = own.get("/tokens").json
    mine = next(t for t in listed["items"] if t["id"] == created["id"])
    assert "token" not in mine and mine["state"] == "active"
    assert count(WorkflowEvent, WorkflowEvent.event_type == "token.created") == 1


def test_token_without_expiry_in_the_body_expires_after_the_default_days(
    make_org, make_user, api_as, clock
) -> None:
    lawyer = make_user(make_org(), Role.LAWYER)
    created = created_token(api_as(lawyer))
    assert created["expiresAt"].startswith("2027-03-07T08:00")  # 90 days


def test_expired_token_gets_401_with_the_json_error_body(
    app, make_org, make_user, api_as, clock
) -> None:
    lawyer = make_user(make_org(), Role.LAWYER)
    created = created_token(api_as(lawyer), expiresInDays=1)
    api = ApiClient(app.test_client(), created["token"])
    assert api.get("/matters").status_code == HTTPStatus.OK
    clock.advance(days=1)
    refused = api.get("/matters")
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.json["error"]["code"] == "unauthorized"
    listed = api_as(lawyer).get("/tokens").json["items"]
    assert next(t for t in listed if t["id"] == created["id"])["state"] == "expired"


def test_revoked_token_gets_401_and_revoking_again_changes_nothing(
    app, make_org, make_user, api_as
) -> None:
    lawyer = make_user(make_org(), Role.LAWYER)
    manager = api_as(lawyer)
    created = created_token(manager)
    api = ApiClient(app.test_client(), created["token"])
    assert api.get("/matters").status_code == HTTPStatus.OK

    revoked = manager.delete(f"/tokens/{created['id']}")
    assert revoked.status_code == HTTPStatus.OK and revoked.json["state"] == "revoked"
    refused = api.get("/matters")
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.json["error"]["message"]
    again = manager.delete(f"/tokens/{created['id']}")
    assert again.status_code == HTTPStatus.OK
    assert count(WorkflowEvent, WorkflowEvent.event_type == "token.revoked") == 1


def test_last_use_is_listed_and_written_at_most_once_a_minute(
    app, make_org, make_user, api_as, clock
) -> None:
    lawyer = make_user(make_org(), Role.LAWYER)
    created = created_token(api_as(lawyer))
    api = ApiClient(app.test_client(), created["token"])
    row = db.session.get(ApiToken, created["id"])
    assert row.last_used_at is None

    first = clock.at
    for _ in range(5):  # a burst within the minute: one write
        api.get("/matters")
        clock.advance(seconds=10)
    db.session.refresh(row)
    assert row.last_used_at == first

    clock.advance(seconds=20)  # a minute after the first use
    listed = api.get("/tokens").json["items"]
    db.session.refresh(row)
    assert row.last_used_at == clock.at
    mine = next(t for t in listed if t["id"] == created["id"])
    assert mine["lastUsedAt"] is not None


def test_person_cannot_revoke_or_see_a_colleagues_token_but_an_admin_can(
    make_org, make_user, api_as
) -> None:
    org = make_org()
    admin, lawyer, paralegal = (
        make_user(org, r) for r in (Role.ADMIN, Role.LAWYER, Role.PARALEGAL)
    )
    created = created_token(api_as(lawyer))
    other = api_as(paralegal)
    assert other.delete(f"/tokens/{created['id']}").status_code == HTTPStatus.NOT_FOUND
    assert created["id"] not in [t["id"] for t in other.get("/tokens").json["items"]]
    assert other.get("/tokens?scope=firm").status_code == HTTPStatus.FORBIDDEN

    admin_api = api_as(admin)
    firm = admin_api.get("/tokens?scope=firm").json
    assert created["id"] in [t["id"] for t in firm["items"]]
    assert {t["userName"] for t in firm["items"]} >= {lawyer.name, paralegal.name}
    assert admin_api.delete(f"/tokens/{created['id']}").json["state"] == "revoked"


def test_token_body_is_refused_with_422_when_the_expiry_is_out_of_range(
    make_org, make_user, api_as
) -> None:
    api = api_as(make_user(make_org(), Role.LAWYER))
    for days in (0, 366):
        response = api.post("/tokens", json={"name": "x", "expiresInDays": days})
        assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert api.post("/tokens", json={"name": ""}).status_code == HTTPStatus.UNPROCESSABLE_ENTITY


# ---- the pages ----------------------------------------------------------------------------


def test_account_tokens_page_shows_a_new_token_once_and_revokes_it(
    app, make_org, make_user, login_as
) -> None:
    lawyer = make_user(make_org(), Role.LAWYER)
    web = login_as(lawyer)
    page = web.post("/account/tokens", {"name": "Billing export", "expires_in_days": "14"})
    assert page.status_code == HTTPStatus.OK
    text = page.get_data(as_text=True)
    assert "shown this once" in text and "Billing export" in text
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "Billing export"))
    secret = text.split('id="revealed-token" class="mono" value="')[1].split('"')[0]
    assert hash_token(secret) == row.token_hash

    listed = web.get("/account/tokens").get_data(as_text=True)
    assert "Billing export" in listed and secret not in listed
    web.post(f"/account/tokens/{row.id}/revoke")
    db.session.refresh(row)
    assert row.revoked_at is not None
    assert ApiClient(app.test_client(), secret).get("/matters").status_code == 401


def test_account_tokens_form_shows_a_plain_message_when_the_name_is_missing(
    make_org, make_user, login_as
) -> None:
    web = login_as(make_user(make_org(), Role.LAWYER))
    page = web.post("/account/tokens", {"name": " ", "expires_in_days": "14"})
    assert page.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "Give the token a name" in page.get_data(as_text=True)
    assert count(ApiToken) == 0


def test_admin_tokens_page_lists_the_firms_tokens_and_is_refused_to_others(
    make_org, make_user, login_as, api_as
) -> None:
    org = make_org()
    admin, lawyer = make_user(org, Role.ADMIN), make_user(org, Role.LAWYER)
    created = created_token(api_as(lawyer), "Lawyer's sync")
    page = login_as(admin).get("/admin/tokens")
    assert page.status_code == HTTPStatus.OK
    text = page.get_data(as_text=True)
    assert "Lawyer&#39;s sync" in text and lawyer.name in text
    assert login_as(lawyer).get("/admin/tokens").status_code == HTTPStatus.FORBIDDEN
    admin_web = login_as(admin)
    admin_web.post(f"/admin/tokens/{created['id']}/revoke")
    assert db.session.get(ApiToken, created["id"]).revoked_at is not None


def test_create_token_command_audits_and_expires_when_asked(app, make_org, make_user) -> None:
    lawyer = make_user(make_org(), Role.LAWYER)
    result = app.test_cli_runner().invoke(
        args=["create-token", lawyer.email, "--name", "nightly", "--expires-in-days", "7"]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    assert row.name == "nightly" and row.expires_at is not None
    assert count(WorkflowEvent, WorkflowEvent.event_type == "token.created") == 1
