import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer


def test_sign_in_lands_on_the_inbox_when_credentials_match(page_as, screenshot) -> None:
    page: Page = page_as("lawyer@demo.test")
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.get_by_text("Lee Lawyer")).to_be_visible()
    screenshot(page, "inbox-after-sign-in")


def test_wrong_password_shows_an_inline_error_when_signing_in(
    page: Page, live_server: LiveServer, console, screenshot
) -> None:
    console.watch(page)
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("lawyer@demo.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That email and password do not match an account.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login"))
    screenshot(page, "login-error")
