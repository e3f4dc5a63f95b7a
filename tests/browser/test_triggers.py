"""/admin/triggers in Chromium: the demo's three triggers with their firings, on a laptop
and a phone; rotating a secret asks first and then shows the new one once."""

import json
import time

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, admin_link, fits_phone
from webapp.extensions import db
from webapp.models import Trigger
from webapp.services.triggers.hooks import receive, signature


def fire_demo_hook(live_server) -> None:
    def fire() -> None:
        trigger = db.session.scalars(db.select(Trigger).where(Trigger.kind == "webhook")).one()
        for delivery, payload in (
            ("intake-1", {"matter": {"reference": "INTAKE-7", "title": "Jordan v. Northwind"}}),
            ("intake-2", {"client": "no matter described"}),
        ):
            body = json.dumps(payload).encode()
            header = signature(trigger.secret, body, int(time.time()))
            receive(trigger.id, body, header, delivery)

    live_server.run(fire)


def test_the_triggers_page_on_a_laptop_and_a_phone(page_as, live_server, screenshot):
    fire_demo_hook(live_server)
    page = page_as("admin@demo.test", viewport={"width": 1280, "height": 900})
    admin_link(page, "Triggers").click()
    expect(page.get_by_role("heading", name="Triggers", exact=True)).to_be_visible()
    for name in ("New intake", "Matter review", "Matter opened → onboarding"):
        expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_text("The payload must describe the matter to open")).to_be_visible()
    screenshot(page, "admin-triggers-1280")

    phone = page_as("admin@demo.test", viewport=PHONE)
    phone.goto(f"{live_server.url}/admin/triggers")
    assert fits_phone(phone)
    phone.set_viewport_size({"width": 390, "height": 844})
    screenshot(phone, "admin-triggers-390")


def test_rotating_a_secret_asks_first_then_shows_it_once(page_as, live_server, screenshot):
    page = page_as("admin@demo.test", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/triggers")
    page.get_by_role("button", name="Rotate secret…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Are you sure?")
    dialog.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_text("shown this once")).to_be_visible()
    secret = page.locator("#revealed-secret").input_value()
    assert secret.startswith("whsec_")
    screenshot(page, "admin-triggers-secret")
    page.goto(f"{live_server.url}/admin/triggers")
    assert secret not in page.content()


def test_the_create_form_shows_the_fields_of_the_chosen_kind(page_as, live_server):
    page = page_as("admin@demo.test", viewport=PHONE)
    page.goto(f"{live_server.url}/admin/triggers")
    page.get_by_text("New trigger", exact=True).first.click()
    expect(page.get_by_label("Cron")).to_be_hidden()
    page.get_by_label("Starts when").select_option("schedule")
    expect(page.get_by_label("Cron")).to_be_visible()
    expect(page.get_by_label("Event", exact=False).first).to_be_hidden()
