"""/admin/security in Chromium: a wrong password and the admin's own sign-in listed on a
laptop and a phone, filtered by kind from the keyboard, with no CSP violation."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveServer, admin_link, fits_phone


def test_security_page_lists_and_filters_events_on_a_laptop_and_a_phone(
    page: Page, page_as, live_server: LiveServer, console, screenshot
) -> None:
    console.watch(page)
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("lawyer@demo.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That email and password do not match an account.")).to_be_visible()

    admin = page_as("admin@demo.test", viewport={"width": 1280, "height": 900})
    admin_link(admin, "Security").click()
    expect(admin.get_by_role("heading", name="Security events")).to_be_visible()
    rows = admin.locator("#event-rows tbody tr")
    expect(rows.filter(has_text="Wrong password").filter(has_text="Lee Lawyer")).to_have_count(1)
    expect(rows.filter(has_text="Signed in").filter(has_text="Avery Admin")).to_have_count(1)
    screenshot(admin, "admin-security-1280")

    admin.get_by_label("Kind of event").focus()
    admin.get_by_label("Kind of event").select_option("sign_in.failed")
    admin.get_by_role("button", name="Show").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Wrong password")

    phone = page_as("admin@demo.test", viewport=PHONE)
    phone.goto(f"{live_server.url}/admin/security")
    expect(phone.get_by_role("heading", name="Security events")).to_be_visible()
    assert fits_phone(phone)
    screenshot(phone, "admin-security-phone")
    assert console.csp_violations == []
