"""The firm's secrets through the API and /admin/secrets: admins set and delete them by
name, nobody reads a value back, each change is audited by name only, and a refused
request changes nothing."""

import json

import pytest
from sqlalchemy import select

from webapp.adapters import cipher
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Secret, WorkflowEvent
from webapp.services import secrets

VALUE = "sk-live-abcdef-0123456789"


@pytest.fixture
def office(make_org, make_user, api_as, login_as):
    org = make_org("Secret Firm")
    admin, lawyer = make_user(org, Role.ADMIN), make_user(org, Role.LAWYER)
    return {
        "org": org,
        "admin": admin,
        "api": api_as(admin),
        "lawyer_api": api_as(lawyer),
        "web": login_as(admin),
        "lawyer_web": login_as(lawyer),
    }


def test_admin_sets_lists_replaces_and_deletes_a_secret_without_its_value_coming_back(office):
    api = office["api"]
    created = api.post("/secrets", json={"name": "API_TOKEN", "value": VALUE})
    assert created.status_code == 201
    assert created.json["name"] == "API_TOKEN"
    assert created.json["reference"] == "{{ secrets.API_TOKEN }}"
    replaced = api.post("/secrets", json={"name": "API_TOKEN", "value": VALUE + "-2"})
    assert replaced.status_code == 200
    listed = api.get("/secrets")
    assert [item["name"] for item in listed.json["items"]] == ["API_TOKEN"]
    for response in (created, replaced, listed):
        assert VALUE not in response.get_data(as_text=True)
    row = db.session.scalar(select(Secret))
    assert VALUE.encode() not in row.ciphertext  # encrypted at rest
    assert secrets.reveal(office["org"].id, "API_TOKEN") == VALUE + "-2"
    deleted = api.delete("/secrets/API_TOKEN")
    assert deleted.status_code == 200 and deleted.json["name"] == "API_TOKEN"
    assert api.get("/secrets").json["total"] == 0
    assert api.delete("/secrets/API_TOKEN").status_code == 404
    events = db.session.scalars(select(WorkflowEvent).order_by(WorkflowEvent.id)).all()
    assert [e.event_type for e in events] == ["secret.created", "secret.updated", "secret.deleted"]
    assert all(e.payload == {"name": "API_TOKEN"} for e in events)
    assert all(e.actor_id == office["admin"].id for e in events)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "api_token", "value": "x"}, "name"),
        ({"name": "1TOKEN", "value": "x"}, "name"),
        ({"name": "API-TOKEN", "value": "x"}, "name"),
        ({"name": "API_TOKEN", "value": ""}, "value"),
        ({"name": "API_TOKEN"}, "value"),
    ],
)
def test_a_bad_name_or_value_is_refused_with_422_and_nothing_stored(office, body, field):
    response = office["api"].post("/secrets", json=body)
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == field
    assert db.session.scalar(select(Secret)) is None


def test_a_lawyer_is_refused_everywhere_and_nothing_changes(office):
    office["api"].post("/secrets", json={"name": "KEEP", "value": VALUE})
    lawyer = office["lawyer_api"]
    assert lawyer.get("/secrets").status_code == 403
    assert lawyer.post("/secrets", json={"name": "KEEP", "value": "mine"}).status_code == 403
    assert lawyer.delete("/secrets/KEEP").status_code == 403
    web = office["lawyer_web"]
    assert web.get("/admin/secrets").status_code == 403
    assert web.post("/admin/secrets", data={"name": "KEEP", "value": "mine"}).status_code == 403
    assert secrets.reveal(office["org"].id, "KEEP") == VALUE


def test_another_firms_secret_is_not_found_and_not_listed(office, make_org, make_user, api_as):
    office["api"].post("/secrets", json={"name": "MINE", "value": VALUE})
    other = api_as(make_user(make_org("Other"), Role.ADMIN))
    assert other.get("/secrets").json["items"] == []
    assert other.delete("/secrets/MINE").status_code == 404
    assert db.session.scalar(select(Secret.name)) == "MINE"


def test_admin_page_stores_a_secret_and_shows_its_reference_not_its_value(office):
    web = office["web"]
    page = web.get("/admin/secrets")
    assert page.status_code == 200 and "No secrets yet" in page.get_data(as_text=True)
    saved = web.post("/admin/secrets", data={"name": "CRM_TOKEN", "value": VALUE})
    assert saved.status_code == 303
    text = web.get("/admin/secrets").get_data(as_text=True)
    assert "{{ secrets.CRM_TOKEN }}" in text and VALUE not in text
    assert secrets.reveal(office["org"].id, "CRM_TOKEN") == VALUE


def test_admin_page_says_what_is_wrong_inline_and_never_echoes_the_value(office):
    refused = office["web"].post("/admin/secrets", data={"name": "bad name", "value": VALUE})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "capital letters, digits and underscores" in text
    assert VALUE not in text
    assert db.session.scalar(select(Secret)) is None


def test_admin_page_deletes_a_secret(office):
    office["api"].post("/secrets", json={"name": "OLD_KEY", "value": VALUE})
    confirm = office["web"].get("/admin/secrets?confirm=delete-OLD_KEY")
    assert "Delete OLD_KEY?" in confirm.get_data(as_text=True)
    done = office["web"].post("/admin/secrets/OLD_KEY/delete")
    assert done.status_code == 303
    assert db.session.scalar(select(Secret)) is None


def test_storing_without_a_key_is_a_clear_409_not_a_500(office, app, monkeypatch):
    monkeypatch.setitem(app.config, "MATTERFLOW_SECRET_KEYS", [])
    response = office["api"].post("/secrets", json={"name": "API_TOKEN", "value": VALUE})
    assert response.status_code == 409
    assert "MATTERFLOW_SECRET_KEYS" in response.json["error"]["message"]
    assert db.session.scalar(select(Secret)) is None


def test_the_audit_payload_names_the_secret_only(office):
    office["api"].post("/secrets", json={"name": "API_TOKEN", "value": VALUE})
    event = db.session.scalar(select(WorkflowEvent))
    assert VALUE not in json.dumps(event.payload)
    assert cipher.decrypt(db.session.scalar(select(Secret.ciphertext))) == VALUE
