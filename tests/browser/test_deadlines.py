"""Deadlines in Chromium: an admin sets the firm's calendar and a closure day at /admin/firm;
the inbox and the runner show due times in the firm's timezone; a person creates and resets
their calendar link behind a confirmation. On a laptop and on a phone."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import SMALL_TARGETS, admin_link
from tests.browser.test_accessibility import serious_violations

LAPTOP = {"width": 1280, "height": 900}
PHONE_390 = {"width": 390, "height": 844}
# "Mon 8 Dec, 14:00": a due time as the firm's clock shows it.
DUE_TEXT = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}, \d\d:\d\d$")


def fits(page) -> bool:
    """No sideways scrolling, and every tap target at least 40 px tall."""
    page.wait_for_load_state("load")
    assert page.evaluate(SMALL_TARGETS) == [], page.url
    return page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_admin_sets_the_firms_calendar_and_a_closure_day(page_as, screenshot):
    admin = page_as("admin@demo.test", viewport=LAPTOP)
    admin_link(admin, "Firm").click()
    expect(admin.get_by_role("heading", name="Firm calendar")).to_be_visible()
    admin.get_by_label("Timezone", exact=True).fill("America/New_York")
    admin.get_by_label("State or region").fill("NY")
    admin.get_by_label("Remind before the due time").fill("1 business day")
    admin.get_by_role("button", name="Save calendar").click()
    expect(admin.get_by_text("The firm's calendar is saved")).to_be_visible()
    admin.get_by_label("Day", exact=True).fill("2026-12-24")
    admin.get_by_label("Why").fill("Office closed for the holidays")
    admin.get_by_role("button", name="Add closure day").click()
    expect(admin.get_by_text("The firm is closed on Thursday 24 December 2026")).to_be_visible()
    expect(admin.locator(".closures-table")).to_contain_text("Office closed for the holidays")
    screenshot(admin, "firm-calendar-1280")
    # An admin's whole header fits a 1280 px window.
    assert admin.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    base = "/".join(admin.url.split("/")[:3])
    assert serious_violations(admin, base) == []

    admin.get_by_label("Timezone", exact=True).fill("Mars/Olympus")
    admin.get_by_role("button", name="Save calendar").click()
    expect(admin.get_by_text("is not a timezone")).to_be_visible()
    screenshot(admin, "firm-calendar-error-1280")

    phone = page_as("admin@demo.test", viewport=PHONE_390)
    phone.goto(admin.url.split("/admin")[0] + "/admin/firm")
    expect(phone.get_by_role("heading", name="Firm calendar")).to_be_visible()
    assert fits(phone)
    screenshot(phone, "firm-calendar-390")


def test_due_times_show_in_the_inbox_and_runner_and_the_calendar_link_resets(page_as, screenshot):
    lawyer = page_as("paralegal@demo.test", viewport=LAPTOP)
    base = "/".join(lawyer.url.split("/")[:3])
    lawyer.goto(base + "/inbox")
    expect(lawyer.locator(".inbox-item .due time").first).to_have_text(DUE_TEXT)
    screenshot(lawyer, "inbox-due-1280")
    lawyer.locator(".inbox-item a").first.click()
    expect(lawyer.locator(".step-card .due").first).to_contain_text("Due ")
    screenshot(lawyer, "runner-due-1280")

    phone = page_as("paralegal@demo.test", viewport=PHONE_390)
    phone.goto(base + "/inbox")
    expect(phone.locator(".inbox-item .due").first).to_contain_text("Due ")
    assert fits(phone)
    screenshot(phone, "inbox-due-390")
    phone.locator(".inbox-item a").first.click()
    expect(phone.locator(".step-card .due").first).to_contain_text("Due ")
    assert fits(phone)
    screenshot(phone, "runner-due-390")

    phone.goto(base + "/account/calendar")
    phone.get_by_role("button", name="Create my calendar link").click()
    expect(phone.get_by_text("Your calendar link is ready")).to_be_visible()
    first = phone.locator("#calendar-url").input_value()
    assert first.endswith(".ics")
    assert fits(phone)
    assert serious_violations(phone, base) == []
    screenshot(phone, "calendar-390")
    phone.get_by_role("button", name="Reset link…").click()
    dialog = phone.get_by_role("dialog")
    expect(dialog).to_contain_text("The current link stops working at once")
    screenshot(phone, "calendar-reset-confirm-390")
    dialog.get_by_role("button", name="Reset link").click()
    expect(phone.get_by_text("the old link no longer works")).to_be_visible()
    assert phone.locator("#calendar-url").input_value() != first
    answer = phone.request.get(first.replace("http://localhost:5000", base))
    assert answer.status == 404
