"""The bell in real Chromium: the lawyer's count goes up without a reload when the
paralegal's action makes a step READY for them (the 20 s poll, run on Playwright's clock);
the /notifications page and marking one read; the email preferences page; a notification
email's HTML part as a mail client would show it. Screenshots at 1280 and 390 px."""

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import SMALL_TARGETS, LiveServer
from tests.conftest import ApiClient
from tests.integration.engine_support import by_key, publish, smtp_server, start, step
from webapp.extensions import db
from webapp.models import Matter
from webapp.services.auth import create_token
from webapp.services.seed import DEMO_PASSWORD
from webapp.worker import drain

SHOTS = Path("/tmp/shots/notify")
LAPTOP = {"width": 1280, "height": 900}
PHONE_390 = {"width": 390, "height": 844}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("load")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def hand_over(live_server: LiveServer) -> dict[str, Any]:
    """A workflow on the demo matter: the paralegal's checklist, then the lawyer's."""

    def build() -> dict[str, Any]:
        matter = db.session.scalar(select(Matter).where(Matter.reference == "DEMO-001"))
        lawyer = ApiClient(live_server.app.test_client(), create_token("lawyer@demo.test"))
        template = publish(
            lawyer,
            "Hand-over",
            [
                step(
                    "gather",
                    "CHECKLIST",
                    title="Gather the exhibits",
                    roleScope="PARALEGAL",
                    config={"items": ["Exhibit A", "Exhibit B"]},
                ),
                step(
                    "sign_off",
                    "CHECKLIST",
                    title="Sign off the exhibit bundle",
                    roleScope="LAWYER",
                    config={"items": ["Bundle checked"]},
                    dependsOn=["gather"],
                ),
            ],
        )
        return start(lawyer, template, matter.id, title="Exhibit hand-over")

    return live_server.run(build)


def complete_as_paralegal(live_server: LiveServer, step_id: int) -> None:
    def act() -> None:
        paralegal = ApiClient(live_server.app.test_client(), create_token("paralegal@demo.test"))
        done = paralegal.post(
            f"/steps/{step_id}/complete", json={"checkedItems": ["Exhibit A", "Exhibit B"]}
        )
        assert done.status_code == 200, done.json

    live_server.run(act)


def fits_390(page: Page) -> bool:
    """No sideways scrolling at 390 px, and every tap target at least 40 px tall."""
    page.wait_for_load_state("load")
    assert page.evaluate(SMALL_TARGETS) == [], page.url
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE_390["width"]


def test_bell_counts_up_without_a_reload_when_another_persons_action_makes_a_step_ready(
    browser, live_server: LiveServer, console
) -> None:
    instance = hand_over(live_server)
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = console.watch(context.new_page())
        page.set_default_timeout(10_000)
        page.clock.install()
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Email").fill("lawyer@demo.test")
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        bell = page.locator("#notification-bell")
        expect(bell.locator("#bell-count")).to_have_attribute("data-unread", "0")
        complete_as_paralegal(live_server, by_key(instance, "gather")["id"])
        expect(bell.locator("#bell-count")).to_have_attribute("data-unread", "0")  # no reload
        page.clock.fast_forward(21_000)  # the next poll
        expect(bell.locator("#bell-count")).to_have_attribute("data-unread", "1")
        expect(bell).to_contain_text("1")
        shot(page, "bell-1280")
        bell.click()
        page.wait_for_url("**/notifications")
        item = page.locator(".notification").first
        expect(item).to_contain_text("Ready for you: Sign off the exhibit bundle")
        expect(item).to_contain_text("DEMO-001")
        shot(page, "notifications-1280")
        item.get_by_role("button", name="Mark read").click()
        expect(page.locator(".notification.is-unread")).to_have_count(0)
        expect(bell.locator("#bell-count")).to_have_attribute("data-unread", "0")
        link = page.locator(".notification-title a").first
        assert f"#step-{by_key(instance, 'sign_off')['id']}" in (link.get_attribute("href") or "")
    finally:
        context.close()


def test_notifications_and_preferences_fit_a_phone(page_as, live_server: LiveServer) -> None:
    instance = hand_over(live_server)
    complete_as_paralegal(live_server, by_key(instance, "gather")["id"])
    phone = page_as("lawyer@demo.test", viewport=PHONE_390)
    expect(phone.locator("#bell-count")).to_have_attribute("data-unread", "1")
    shot(phone, "bell-390")
    assert fits_390(phone)
    phone.goto(f"{live_server.url}/notifications")
    shot(phone, "notifications-390")
    assert fits_390(phone)
    phone.goto(f"{live_server.url}/account/notifications")
    phone.get_by_label("One summary a day").check()
    phone.get_by_label("Send the daily summary at").select_option("18")
    phone.get_by_role("button", name="Save").click()
    expect(phone.locator(".flash-success")).to_contain_text("preference is saved")
    expect(phone.get_by_label("One summary a day")).to_be_checked()
    assert fits_390(phone)
    shot(phone, "preferences-390")
    laptop = page_as("lawyer@demo.test", viewport=LAPTOP)
    laptop.goto(f"{live_server.url}/account/notifications")
    shot(laptop, "preferences-1280")


def test_notification_email_reads_well_in_a_browser(browser, live_server: LiveServer) -> None:
    app = live_server.app
    with smtp_server() as (inbox, port):
        app.config.update(NOTIFICATIONS_ENABLED=True, SMTP_PORT=port)
        try:
            instance = hand_over(live_server)
            complete_as_paralegal(live_server, by_key(instance, "gather")["id"])
            live_server.run(lambda: drain("browser-worker", until_idle=True))
        finally:
            app.config.update(NOTIFICATIONS_ENABLED=False)
    mails = [m["message"] for m in inbox.messages if "lawyer@demo.test" in m["rcpt"]]
    assert [m["Subject"] for m in mails] == [
        "Ready for you: Sign off the exhibit bundle (DEMO-001)"
    ]
    html = mails[0].get_body(preferencelist=("html",)).get_content()
    for viewport, name in ((LAPTOP, "email-1280"), (PHONE_390, "email-390")):
        context = browser.new_context(viewport=viewport)  # a mail client: no site, no CSP
        try:
            page = context.new_page()
            page.set_content(html)
            link = page.get_by_role("link", name="Open “Sign off the exhibit bundle”")
            expect(link).to_be_visible()
            assert (link.get_attribute("href") or "").startswith("http://localhost:5000/matters/")
            expect(page.get_by_text("Tick each of: Bundle checked")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            shot(page, name)
        finally:
            context.close()
