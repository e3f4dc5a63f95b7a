"""Admin → Providers and a Stripe payment step in Chromium, on a laptop and a phone: the
admin picks Stripe, the client's step says what is missing until the keys are added, then
Pay leads to the Checkout Session (a local stand-in of Stripe's API)."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import LiveServer, admin_link, fits_phone
from tests.integration.provider_standins import StripeStandIn
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, Organization, User, WorkflowInstance
from webapp.services import secrets, steps

PHONE_390 = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
TEST_KEY = "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0="


@pytest.fixture
def stripe_api(live_server: LiveServer) -> Iterator[StripeStandIn]:
    stand_in = StripeStandIn().start()
    live_server.app.config["STRIPE_API_BASE"] = stand_in.base
    live_server.app.config["MATTERFLOW_SECRET_KEYS"] = [TEST_KEY]
    yield stand_in
    stand_in.stop()


def retainer_ready() -> str:
    """The demo's onboarding up to its payment step: its runner page's path."""

    def step(key: str) -> InstanceStep:
        db.session.expire_all()
        found = db.session.scalar(select(InstanceStep).where(InstanceStep.key == key))
        assert found is not None
        return found

    people = {u.role: u for u in db.session.scalars(select(User))}
    for item in step("conflict_check").action_config["items"]:
        steps.perform(people[Role.PARALEGAL], step("conflict_check").id, steps.Tick(item, True))
    steps.perform(
        people[Role.LAWYER], step("engagement_approval").id, steps.Complete({"approved": True})
    )
    upload = steps.IncomingFile("id.pdf", "application/pdf", b"%PDF-1.4\n")
    steps.perform(people[Role.CLIENT], step("identity_documents").id, steps.Upload([upload]))
    steps.perform(people[Role.ADMIN], step("engagement_letter").id, steps.Skip("signed on paper"))
    instance = db.session.get(WorkflowInstance, step("retainer").instance_id)
    assert instance is not None and step("retainer").action_state == "READY"
    return f"/matters/{instance.matter_id}/workflows/{instance.id}"


def add_stripe_keys() -> None:
    org = db.session.scalar(select(Organization))
    assert org is not None
    secrets.store(org.id, "STRIPE_SECRET_KEY", "sk_test_firm")
    secrets.store(org.id, "STRIPE_WEBHOOK_SECRET", "whsec_test_firm")
    db.session.commit()


def test_admin_picks_stripe_and_the_client_pays_on_a_laptop_and_a_phone(
    page_as, live_server: LiveServer, stripe_api: StripeStandIn, console, screenshot
) -> None:
    admin = page_as("admin@demo.test", viewport=LAPTOP)
    admin_link(admin, "Providers").click()
    expect(admin.get_by_role("heading", name="Providers")).to_be_visible()
    expect(admin.get_by_text("Sandbox — no real money")).to_be_visible()
    admin.get_by_label("Stripe").check()
    admin.get_by_role("button", name="Save providers").click()
    expect(admin.get_by_text("The firm's providers are saved.")).to_be_visible()
    expect(admin.get_by_text("Add STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET")).to_be_visible()
    screenshot(admin, "admin-providers-1280")

    phone_admin = page_as("admin@demo.test", viewport=PHONE_390)
    phone_admin.goto(f"{live_server.url}/admin/providers")
    expect(phone_admin.get_by_label("Stripe")).to_be_checked()
    assert (
        fits_phone(phone_admin)
        or phone_admin.evaluate("document.documentElement.scrollWidth") <= PHONE_390["width"]
    )
    screenshot(phone_admin, "admin-providers-390")

    runner = live_server.run(retainer_ready)
    client = page_as("client@demo.test", viewport=LAPTOP)
    client.goto(f"{live_server.url}{runner}")
    expect(client.get_by_text("Online payment is not available yet")).to_be_visible()
    screenshot(client, "pay-step-stripe-no-keys-1280")

    live_server.run(add_stripe_keys)
    client.reload()
    pay = client.get_by_role("button", name="Pay now")
    expect(pay).to_be_visible()
    expect(client.get_by_text("Opens Stripe's secure payment page.")).to_be_visible()
    screenshot(client, "pay-step-stripe-1280")

    phone = page_as("client@demo.test", viewport=PHONE_390)
    phone.goto(f"{live_server.url}{runner}")
    expect(phone.get_by_role("button", name="Pay now")).to_be_visible()
    screenshot(phone, "pay-step-stripe-390")

    # Stripe's hosted page is outside the test: the browser only has to arrive there.
    client.route(
        f"{stripe_api.base}/**",
        lambda route: route.fulfill(status=200, body="<p>Checkout</p>", content_type="text/html"),
    )
    pay.click()
    client.wait_for_url(f"{stripe_api.base}/pay/**")
    [created] = stripe_api.creates()
    assert created.form["line_items[0][price_data][unit_amount]"] == ["150000"]
    assert console.csp_violations == []
