"""The matter's People tab in real Chromium: an admin adds a lawyer to the team, removes
the paralegal after confirming in the dialog (Esc keeps them), and screens the new lawyer
with a reason; the screened lawyer then finds the matter missing, and the attempt is
listed in the walls' evidence. The tab fits a phone. Screenshots, laptop and phone."""

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import PHONE, LiveServer, fits_phone
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter
from webapp.services.auth import new_user
from webapp.services.seed import DEMO_PASSWORD

SECOND = "second.lawyer@demo.test"


def _second_lawyer() -> int:
    matter = db.session.scalar(select(Matter).where(Matter.reference == "DEMO-001"))
    new_user(matter.org_id, SECOND, "Sam Second", Role.LAWYER, DEMO_PASSWORD)
    db.session.commit()
    return matter.id


def test_admin_adds_removes_with_confirmation_and_screens_on_the_people_tab(
    page_as, live_server: LiveServer, screenshot
) -> None:
    matter_id = live_server.run(_second_lawyer)
    admin = page_as("admin@demo.test")
    admin.goto(f"{live_server.url}/matters/{matter_id}/workflows")
    admin.get_by_role("navigation", name="Matter sections").get_by_role(
        "link", name="People"
    ).click()
    team = admin.locator("#team-card")
    expect(team).to_contain_text("Pat Paralegal")

    admin.get_by_label("Person", exact=True).first.select_option(label="Sam Second (Lawyer)")
    admin.get_by_role("button", name="Add to the team").click()
    expect(admin.locator(".flash-success")).to_contain_text("Added to the team")
    expect(team).to_contain_text("Sam Second")

    row = team.locator("tr", has_text="Pat Paralegal")
    row.get_by_role("button", name="Remove…").click()
    dialog = admin.get_by_role("dialog", name="Remove Pat Paralegal?")
    expect(dialog).to_be_visible()
    admin.keyboard.press("Escape")  # changed their mind: nothing happens
    expect(dialog).to_be_hidden()
    expect(team).to_contain_text("Pat Paralegal")
    row.get_by_role("button", name="Remove…").click()
    dialog.get_by_role("button", name="Remove", exact=True).click()
    expect(admin.locator(".flash-success")).to_contain_text("Removed from the team")
    expect(team).not_to_contain_text("Pat Paralegal")

    screen = admin.locator("#screen-person")
    screen.get_by_label("Person").select_option(label="Sam Second (Lawyer)")
    screen.get_by_label("Reason").fill("Acted for Widget Ltd in 2024")
    screen.get_by_role("button", name="Screen from this matter").click()
    walls = admin.locator("#walls-card")
    expect(walls.locator("#screen-" + str(_id_of(admin, "Sam Second")))).to_contain_text(
        "Acted for Widget Ltd in 2024"
    )
    expect(team).not_to_contain_text("Sam Second")

    second = page_as(SECOND)
    missing = second.goto(f"{live_server.url}/matters/{matter_id}/people")
    assert missing is not None and missing.status == 404
    second.goto(f"{live_server.url}/matters")
    expect(second.locator("#matter-rows")).not_to_contain_text("DEMO-001")

    admin.reload()
    expect(walls).to_contain_text(f"GET /matters/{matter_id}/people")
    admin.set_viewport_size({"width": 1280, "height": 900})
    screenshot(admin, "people-tab-laptop")
    phone = page_as("admin@demo.test", viewport=PHONE)
    phone.goto(f"{live_server.url}/matters/{matter_id}/people")
    assert fits_phone(phone)
    phone.set_viewport_size({"width": 390, "height": 844})
    screenshot(phone, "people-tab-phone")


def _id_of(page: Page, name: str) -> int:
    """The id the walls table gives the screened person's row."""
    row = page.locator("#walls-card tr", has_text=name).first
    return int((row.get_attribute("id") or "screen-0").removeprefix("screen-"))


def test_new_matter_form_names_a_new_client_and_the_team(
    page_as, live_server: LiveServer, screenshot
) -> None:
    lawyer = page_as("lawyer@demo.test")
    lawyer.goto(f"{live_server.url}/matters")
    lawyer.get_by_role("link", name="New matter").click()
    form = lawyer.locator("#create-matter")
    form.get_by_label("Reference").fill("ACME-2")
    form.get_by_label("Title").fill("Acme share purchase")
    form.get_by_label("Client", exact=True).select_option(label="A new client…")
    form.get_by_label("New client's name").fill("Nia Newman")
    form.get_by_label("New client's email").fill("nia@acme.test")
    form.get_by_label("Pat Paralegal").check()
    lawyer.set_viewport_size({"width": 1280, "height": 900})
    screenshot(lawyer, "new-matter-form-laptop")
    form.get_by_role("button", name="Open matter").click()
    lawyer.get_by_role("link", name="People").click()
    team = lawyer.locator("#team-card")
    expect(team).to_contain_text("Nia Newman")
    expect(team).to_contain_text("Pat Paralegal")
    phone = page_as("lawyer@demo.test", viewport=PHONE)
    phone.goto(f"{live_server.url}/matters")
    phone.get_by_role("link", name="New matter").click()
    assert fits_phone(phone)
    phone.set_viewport_size({"width": 390, "height": 844})
    screenshot(phone, "new-matter-form-phone")
