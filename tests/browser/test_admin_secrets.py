"""/admin/secrets in Chromium: an admin adds a secret from the form on a laptop, sees its
reference and never its value, and deletes one through the confirmation dialog; the page
fits a phone, with no CSP violation."""

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, LiveServer, admin_link, fits_phone

VALUE = "sk-browser-secret-value-123"


def test_admin_adds_and_deletes_a_secret_on_a_laptop_and_reads_the_page_on_a_phone(
    page_as, live_server: LiveServer, console, screenshot
) -> None:
    admin = page_as("admin@demo.test", viewport={"width": 1280, "height": 900})
    admin_link(admin, "Secrets").click()
    expect(admin.get_by_role("heading", name="Secrets", exact=True)).to_be_visible()
    admin.get_by_label("Name").fill("CRM_TOKEN")
    admin.get_by_label("Value").fill(VALUE)
    admin.get_by_role("button", name="Save secret").click()
    expect(admin.get_by_text("The secret CRM_TOKEN is stored.")).to_be_visible()
    admin.get_by_role("link", name="Add a secret").click()
    admin.get_by_label("Name").fill("SLACK_BOT_TOKEN")
    admin.get_by_label("Value").fill("xoxb-browser")
    admin.get_by_role("button", name="Save secret").click()
    row = admin.locator("#secret-CRM_TOKEN")
    expect(row).to_contain_text("{{ secrets.CRM_TOKEN }}")
    assert VALUE not in admin.content()
    screenshot(admin, "admin-secrets-1280")

    admin.get_by_role("button", name="Delete the secret SLACK_BOT_TOKEN").click()
    dialog = admin.get_by_role("dialog", name="Delete SLACK_BOT_TOKEN?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete secret").click()
    expect(admin.get_by_text("The secret SLACK_BOT_TOKEN is deleted")).to_be_visible()
    expect(admin.locator("#secret-SLACK_BOT_TOKEN")).to_have_count(0)

    admin.get_by_role("link", name="Add a secret").click()
    admin.get_by_label("Name").fill("bad name")
    admin.get_by_label("Value").fill(VALUE)
    admin.get_by_role("button", name="Save secret").click()
    expect(admin.get_by_text("capital letters, digits and underscores").first).to_be_visible()
    assert VALUE not in admin.content()

    phone = page_as("admin@demo.test", viewport=PHONE)
    phone.goto(f"{live_server.url}/admin/secrets")
    expect(phone.get_by_role("heading", name="Secrets", exact=True)).to_be_visible()
    assert fits_phone(phone)
    screenshot(phone, "admin-secrets-phone")
    wide_phone = page_as("admin@demo.test", viewport={"width": 390, "height": 844})
    wide_phone.goto(f"{live_server.url}/admin/secrets")
    screenshot(wide_phone, "admin-secrets-390")
    assert console.csp_violations == []
