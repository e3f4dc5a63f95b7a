"""The matter page's Audit trail card in real Chromium: a lawyer reaches "Download CSV" by
keyboard and gets the matter's trail with its hash chain as a file; a client sees no card.
Screenshots at laptop and phone width."""

import csv
import io

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, LiveServer, fits_phone
from webapp.extensions import db
from webapp.models import Matter, WorkflowEvent

PAGE = "/matters/{id}/workflows"


def _demo_matter() -> int:
    return db.session.scalar(db.select(Matter.id).where(Matter.reference == "DEMO-001"))


def _hashes(matter_id: int) -> list[str]:
    return list(
        db.session.scalars(
            db.select(WorkflowEvent.hash)
            .where(WorkflowEvent.matter_id == matter_id)
            .order_by(WorkflowEvent.id)
        )
    )


def test_lawyer_downloads_the_matter_audit_trail_by_keyboard_when_on_the_matter_page(
    page_as, live_server: LiveServer, screenshot
) -> None:
    matter_id = live_server.run(_demo_matter)
    lawyer = page_as("lawyer@demo.test", viewport={"width": 1280, "height": 900})
    lawyer.goto(live_server.url + PAGE.format(id=matter_id))
    card = lawyer.locator("#audit-export")
    expect(card.get_by_role("heading", name="Audit trail")).to_be_visible()
    screenshot(lawyer, "audit-export-laptop")

    csv_link = card.get_by_role("link", name="Download CSV")
    for _ in range(60):  # Tab through the page until the link has the focus
        lawyer.keyboard.press("Tab")
        if csv_link.evaluate("el => el === document.activeElement"):
            break
    else:
        raise AssertionError("Download CSV is not reachable by keyboard")
    with lawyer.expect_download() as download:
        lawyer.keyboard.press("Enter")
    saved = download.value
    assert saved.suggested_filename == f"matter-{matter_id}-audit.csv"
    with open(saved.path(), encoding="utf-8") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    assert [row["hash"] for row in rows] == live_server.run(lambda: _hashes(matter_id))


def test_audit_card_fits_a_phone_and_is_not_shown_to_a_client(
    page_as, live_server: LiveServer, screenshot
) -> None:
    matter_id = live_server.run(_demo_matter)
    lawyer = page_as("lawyer@demo.test", viewport={"width": 390, "height": 844})
    lawyer.goto(live_server.url + PAGE.format(id=matter_id))
    expect(lawyer.locator("#audit-export")).to_be_visible()
    lawyer.locator("#audit-export").scroll_into_view_if_needed()
    assert lawyer.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(lawyer, "audit-export-phone")

    phone = page_as("lawyer@demo.test", viewport=PHONE)
    phone.goto(live_server.url + PAGE.format(id=matter_id))
    assert fits_phone(phone)

    client = page_as("client@demo.test")
    client.goto(live_server.url + PAGE.format(id=matter_id))
    expect(client.locator("h1")).to_be_visible()
    expect(client.locator("#audit-export")).to_have_count(0)
