"""Every API route needs a token or a session; a session's mutations also need the CSRF
header; the create-token command prints a token that works and stores only its hash."""

import hashlib
import re
from http import HTTPStatus

from tests.conftest import forget_request_user
from tests.integration.support import count
from webapp.api import PUBLIC_ENDPOINTS
from webapp.api.spec import ROUTES
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import ApiToken, Matter


def api_rules(app) -> list[tuple[str, str]]:
    """Every /api/v1 route the app serves, whoever registered it."""
    return [
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint not in PUBLIC_ENDPOINTS
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def concrete(rule: str) -> str:
    return re.sub(r"<(int:)?[a-z_]+>", lambda m: "1" if m.group(1) else "x", rule)


def test_every_api_route_answers_401_when_the_request_is_anonymous(app) -> None:
    rules = api_rules(app)
    assert len(rules) > 35
    documented = {(route.method, route.rule) for route in ROUTES}
    client = app.test_client()
    answers = {}
    for method, rule in rules:
        assert (method, rule.removeprefix("/api/v1")) in documented, "routes go through endpoint()"
        response = client.open(concrete(rule), method=method, json={})
        answers[f"{method} {rule}"] = (response.status_code, response.json["error"]["code"])
    assert set(answers.values()) == {(HTTPStatus.UNAUTHORIZED, "unauthorized")}, answers


def test_route_answers_401_when_the_bearer_token_is_unknown(app) -> None:
    response = app.test_client().get(
        "/api/v1/matters", headers={"Authorization": "Bearer mf_not-a-token"}
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_session_mutation_is_refused_without_the_csrf_header_and_accepted_with_it(
    demo, login_as
) -> None:
    web = login_as(demo.user(Role.LAWYER))
    before = count(Matter)
    body = {"reference": "CSRF-1", "title": "Session matter"}

    forget_request_user()
    refused = web.client.post("/api/v1/matters", json=body)
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert refused.json["error"]["code"] == "csrf_failed"
    assert count(Matter) == before

    forget_request_user()
    wrong = web.client.post("/api/v1/matters", json=body, headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == HTTPStatus.BAD_REQUEST
    assert count(Matter) == before

    forget_request_user()
    accepted = web.client.post("/api/v1/matters", json=body, headers={"X-CSRFToken": web.csrf})
    assert accepted.status_code == HTTPStatus.CREATED, accepted.json
    assert count(Matter) == before + 1


def test_session_read_needs_no_csrf_header_when_signed_in(demo, login_as) -> None:
    web = login_as(demo.user(Role.PARALEGAL))
    forget_request_user()
    response = web.client.get("/api/v1/matters")
    assert response.status_code == HTTPStatus.OK
    assert [m["reference"] for m in response.json["items"]] == ["DEMO-001"]


def test_create_token_prints_a_working_token_and_stores_only_its_hash_when_run(app, demo) -> None:
    result = app.test_cli_runner().invoke(args=["create-token", "Paralegal@Demo.test"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("mf_") and len(token) > 40

    db.session.expire_all()
    [row] = db.session.scalars(db.select(ApiToken)).all()
    assert row.user_id == demo.user(Role.PARALEGAL).id
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.token_hash, row.name}

    forget_request_user()
    response = app.test_client().get(
        "/api/v1/matters", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json["total"] == 1


def test_create_token_fails_with_a_message_when_the_email_is_unknown(app, demo) -> None:
    result = app.test_cli_runner().invoke(args=["create-token", "nobody@demo.test"])
    assert result.exit_code != 0
    assert "No user with email 'nobody@demo.test'" in result.output
    assert count(ApiToken) == 0


def test_token_of_a_deactivated_person_is_refused_when_used(app, demo, api_as) -> None:
    paralegal = demo.user(Role.PARALEGAL)
    client = api_as(paralegal)
    assert client.get("/matters").status_code == HTTPStatus.OK
    paralegal.active = False
    db.session.commit()
    assert client.get("/matters").status_code == HTTPStatus.UNAUTHORIZED
