"""The builder's action picker in real Chromium: grouped by the catalog's categories,
the chosen action's description under it, its settings generated from its schema, on a
laptop and on a phone."""

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import PHONE, LiveServer, fits_phone
from webapp.engine.actions import get_handler
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import User
from webapp.services.templates import create_template

LAWYER = "lawyer@demo.test"


def draft_template() -> int:
    lawyer = db.session.scalar(select(User).where(User.role == Role.LAWYER))
    first = StepDefinition(
        key="intake", title="Intake", action_type="CHECKLIST", action_config={"items": ["Call"]}
    )
    return create_template(lawyer, "Action picker", [first]).id


def choose_http_call(page: Page) -> None:
    picker = page.locator("#add-type")
    groups = picker.locator("optgroup").evaluate_all("els => els.map(e => e.label)")
    assert groups == [
        "People",
        "Notifications",
        "Documents",
        "Integrations",
        "Flow control",
        "Data",
    ]
    picker.select_option("core.http")
    expect(page.locator("#add-type-hint")).to_have_text(get_handler("core.http").description)
    expect(page.locator("#add-config-url")).to_be_visible()
    expect(page.locator("#add-config-method")).to_have_value("GET")


def test_action_picker_follows_the_catalog_on_a_laptop_when_an_action_is_chosen(
    page_as: Callable[..., Page],
    live_server: LiveServer,
    screenshot: Callable[[Page, str], Path],
) -> None:
    template_id = live_server.run(draft_template)
    page = page_as(LAWYER, {"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/workflows/templates/{template_id}")
    expect(page.locator("#add-type-hint")).to_contain_text("Tick every item")
    expect(page.locator("#insp-type-hint")).to_contain_text("Tick every item")
    choose_http_call(page)
    page.locator("#add-title").fill("Record in the CRM")
    page.locator("#add-config-url").fill("https://crm.example.com/matters")
    page.get_by_role("button", name="Add step").click()
    expect(page.locator("#builder-steps .step-row")).to_have_count(2)
    expect(page.locator("#insp-type")).to_have_value("core.http")
    screenshot(page, "builder-action-picker-laptop")


def test_action_picker_fits_a_phone_when_an_action_is_chosen(
    page_as: Callable[..., Page],
    live_server: LiveServer,
    screenshot: Callable[[Page, str], Path],
) -> None:
    template_id = live_server.run(draft_template)
    page = page_as(LAWYER, PHONE)
    page.goto(f"{live_server.url}/workflows/templates/{template_id}")
    choose_http_call(page)
    assert fits_phone(page)
    page.set_viewport_size({"width": 390, "height": PHONE["height"]})
    screenshot(page, "builder-action-picker-phone")
