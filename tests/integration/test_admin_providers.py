"""Choosing providers (issue 16, point 7): per firm in Admin → Providers, the sandbox the
default and labelled so; a provider missing its keys is a plain message where the step
would start, the step stays READY, and nothing is sent anywhere."""

from http import HTTPStatus

from sqlalchemy import func, select

from tests.integration.provider_support import event_count, fresh_step, payment_step
from webapp.extensions import db
from webapp.models import Job, Organization, WorkflowEvent

NOT_SET_UP = (
    "Payments are not set up: an admin must add STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET "
    "in Admin → Secrets"
)


def test_the_sandbox_is_every_firm_s_default_and_says_it_moves_no_money(
    client_firm, login_as
) -> None:
    page = login_as(client_firm.admin).get("/admin/providers")
    body = page.get_data(as_text=True)
    assert page.status_code == HTTPStatus.OK
    assert "Sandbox — no real money" in body and "Sandbox — not a legal signature" in body
    assert 'name="payments" value="sandbox" checked' in body
    assert 'name="esign" value="sandbox" checked' in body
    assert body.count("Keys missing") == 2  # Stripe and Dropbox Sign, no secrets yet


def test_an_admin_chooses_stripe_and_dropbox_sign_for_the_firm(client_firm, login_as) -> None:
    web = login_as(client_firm.admin)
    saved = web.post("/admin/providers", data={"payments": "stripe", "esign": "dropbox_sign"})
    assert saved.status_code == HTTPStatus.SEE_OTHER
    db.session.expire_all()
    org = db.session.get(Organization, client_firm.org.id)
    assert (org.payment_provider, org.esign_provider) == ("stripe", "dropbox_sign")
    audit = db.session.scalar(
        select(WorkflowEvent).where(WorkflowEvent.event_type == "firm.providers_changed")
    )
    assert audit.actor_id == client_firm.admin.id
    assert audit.payload["to"] == {"payments": "stripe", "esign": "dropbox_sign"}
    page = web.get("/admin/providers").get_data(as_text=True)
    assert 'name="payments" value="stripe" checked' in page


def test_an_unknown_provider_is_refused_in_plain_words_and_nothing_changes(
    client_firm, login_as
) -> None:
    before = event_count()
    refused = login_as(client_firm.admin).post(
        "/admin/providers", data={"payments": "paypal", "esign": "sandbox"}
    )
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "&#39;paypal&#39; is not a payment provider." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organization, client_firm.org.id).payment_provider == "sandbox"
    assert event_count() == before


def test_a_lawyer_may_not_choose_the_firm_s_providers(client_firm, login_as) -> None:
    web = login_as(client_firm.lawyer)
    assert web.get("/admin/providers").status_code == HTTPStatus.FORBIDDEN
    refused = web.post("/admin/providers", data={"payments": "stripe", "esign": "sandbox"})
    assert refused.status_code == HTTPStatus.FORBIDDEN
    db.session.expire_all()
    assert db.session.get(Organization, client_firm.org.id).payment_provider == "sandbox"


def test_a_payment_step_without_stripe_keys_says_so_and_stays_ready(
    client_firm, stripe_api, login_as
) -> None:
    client_firm.choose(payments="stripe")
    step_id = payment_step(client_firm)
    web = login_as(client_firm.client)
    step = fresh_step(step_id)
    portal = web.get(f"/matters/{client_firm.matter.id}/workflows/{step.instance_id}")
    # The client is told in their own words; the staff runner names the missing keys.
    assert "Online payment is not available yet" in portal.get_data(as_text=True)
    assert NOT_SET_UP not in portal.get_data(as_text=True)
    staff = login_as(client_firm.lawyer).get(
        f"/matters/{client_firm.matter.id}/workflows/{step.instance_id}"
    )
    assert NOT_SET_UP in staff.get_data(as_text=True)
    web = login_as(client_firm.client)
    before = event_count()
    pressed = web.post(f"/steps/{step_id}/provider", htmx=True)
    assert pressed.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert NOT_SET_UP in pressed.get_data(as_text=True)
    assert fresh_step(step_id).action_state == "READY"
    assert event_count() == before
    assert stripe_api.requests == []
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.status == "DEAD")) == 0
    started = client_firm.api.post(f"/steps/{step_id}/start")
    assert started.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.UNPROCESSABLE_ENTITY)


def test_the_step_starts_once_the_keys_are_added(client_firm, stripe_api, login_as) -> None:
    client_firm.choose(payments="stripe")
    step_id = payment_step(client_firm)
    client_firm.add_secret("STRIPE_SECRET_KEY", "sk_test_firm")
    client_firm.add_secret("STRIPE_WEBHOOK_SECRET", "whsec_test_firm")
    pressed = login_as(client_firm.client).post(f"/steps/{step_id}/provider", htmx=True)
    assert pressed.status_code == HTTPStatus.OK
    assert pressed.headers["HX-Redirect"].startswith(stripe_api.base)
    assert fresh_step(step_id).action_state == "IN_PROGRESS"


def test_the_api_says_what_is_missing_when_a_client_starts_the_step(
    client_firm, stripe_api, api_as
) -> None:
    client_firm.choose(payments="stripe")
    step_id = payment_step(client_firm)
    refused = api_as(client_firm.client).post(f"/steps/{step_id}/start")
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert NOT_SET_UP in refused.json["error"]["message"]
    assert fresh_step(step_id).action_state == "READY"


def test_the_api_lists_and_chooses_the_firm_s_providers_for_admins(client_firm, api_as) -> None:
    api = api_as(client_firm.admin)
    listed = api.get("/providers")
    assert listed.status_code == HTTPStatus.OK
    stripe = next(o for o in listed.json["payments"] if o["name"] == "stripe")
    assert stripe["missingSecrets"] == ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]
    assert [o["name"] for o in listed.json["esign"] if o["chosen"]] == ["sandbox"]
    client_firm.add_secret("DROPBOX_SIGN_API_KEY", "dbs_key")
    chosen = api.put("/providers", json={"payments": "sandbox", "esign": "dropbox_sign"})
    assert chosen.status_code == HTTPStatus.OK, chosen.json
    dropbox = next(o for o in chosen.json["esign"] if o["name"] == "dropbox_sign")
    assert dropbox["chosen"] and dropbox["missingSecrets"] == []
    assert "dbs_key" not in chosen.get_data(as_text=True)


def test_the_api_refuses_a_lawyer_and_an_unknown_provider_and_changes_nothing(
    client_firm, api_as
) -> None:
    refused = api_as(client_firm.lawyer).put(
        "/providers", json={"payments": "stripe", "esign": "sandbox"}
    )
    assert refused.status_code == HTTPStatus.FORBIDDEN
    unknown = api_as(client_firm.admin).put(
        "/providers", json={"payments": "paypal", "esign": "sandbox"}
    )
    assert unknown.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    db.session.expire_all()
    assert db.session.get(Organization, client_firm.org.id).payment_provider == "sandbox"
