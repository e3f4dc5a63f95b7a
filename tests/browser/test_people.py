"""People in Chromium: an admin invites a colleague from /admin/users; the colleague
opens the link in the email the loopback SMTP server received, chooses a password and is
signed in. The people, token and account pages on a laptop and a phone."""

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, admin_link, fits_phone
from tests.browser.test_accessibility import serious_violations
from tests.integration.engine_support import smtp_server
from tests.integration.people_support import LINK
from webapp.extensions import db
from webapp.models import User
from webapp.services import people
from webapp.worker import drain

COLLEAGUE = "robin.vale@demo.test"
PASSWORD = "lantern-quartz-ferry-41"


def send_invitations(live_server) -> list:
    """The worker sends the queued invitation emails to a real SMTP server on loopback."""
    app = live_server.app
    with smtp_server() as (inbox, port):
        app.config.update(SMTP_PORT=port, PUBLIC_URL=live_server.url)
        live_server.run(lambda: drain("browser-worker", until_idle=True))
    return [item["message"] for item in inbox.messages]


def test_admin_invites_a_colleague_who_sets_a_password_from_the_email(
    page_as, live_server, browser, console, screenshot
):
    admin = page_as("admin@demo.test", viewport={"width": 1280, "height": 900})
    admin_link(admin, "People").click()
    expect(admin.get_by_role("heading", name="People", exact=True)).to_be_visible()
    admin.get_by_role("link", name="Invite someone").click()
    admin.locator("#invite-email").fill(COLLEAGUE)
    admin.locator("#invite-name").fill("Robin Vale")
    admin.get_by_label("Role", exact=True).select_option("PARALEGAL")
    admin.get_by_role("button", name="Send invitation").click()
    expect(admin.get_by_text("Robin Vale is invited")).to_be_visible()
    row = admin.locator("tr", has_text=COLLEAGUE)
    expect(row.get_by_text("Invited", exact=True)).to_be_visible()
    screenshot(admin, "admin-users-1280")

    [message] = send_invitations(live_server)
    assert message["To"] == COLLEAGUE
    link = LINK.search(message.get_body(("plain",)).get_content()).group(0)
    assert link.startswith(live_server.url)

    context = browser.new_context(viewport={"width": 390, "height": 844})
    colleague = console.watch(context.new_page())
    colleague.goto(link)
    expect(colleague.get_by_role("heading", name="Welcome, Robin Vale")).to_be_visible()
    screenshot(colleague, "invitation-390")
    colleague.get_by_label("Password", exact=True).fill("password1234")
    colleague.get_by_label("Password again").fill("password1234")
    colleague.get_by_role("button", name="Set password and sign in").click()
    expect(colleague.get_by_text("most common passwords")).to_be_visible()
    colleague.get_by_label("Password", exact=True).fill(PASSWORD)
    colleague.get_by_label("Password again").fill(PASSWORD)
    colleague.get_by_role("button", name="Set password and sign in").click()
    colleague.wait_for_url(lambda url: "/inbox" in url)
    expect(colleague.get_by_text("Your password is set and you are signed in")).to_be_visible()

    colleague.goto(link)  # one use
    expect(colleague.get_by_text("already been used")).to_be_visible()
    context.close()

    admin.reload()
    expect(
        admin.locator("tr", has_text=COLLEAGUE).get_by_text("Active", exact=True)
    ).to_be_visible()


def test_people_tokens_and_account_pages_on_a_laptop_and_a_phone(page_as, live_server, screenshot):
    page = page_as("admin@demo.test", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/account/tokens")
    page.get_by_label("Name").fill("Practice-management sync")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("shown this once")).to_be_visible()
    token = page.locator("#revealed-token").input_value()
    assert token.startswith("mf_")
    screenshot(page, "account-tokens-1280")
    page.goto(f"{live_server.url}/account/tokens")
    assert token not in page.content()
    page.get_by_role("button", name="Revoke the token Practice-management sync").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Are you sure?")
    dialog.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_text("is revoked")).to_be_visible()

    page.goto(f"{live_server.url}/admin/tokens")
    expect(page.get_by_role("heading", name="API tokens", exact=True)).to_be_visible()
    screenshot(page, "admin-tokens-1280")
    page.goto(f"{live_server.url}/admin/users")
    page.goto(f"{live_server.url}/account")
    screenshot(page, "account-1280")

    phone = page_as("admin@demo.test", viewport=PHONE)
    for path, name in (
        ("/admin/users", "admin-users"),
        ("/admin/tokens", "admin-tokens"),
        ("/account", "account"),
        ("/account/tokens", "account-tokens"),
    ):
        phone.set_viewport_size(PHONE)
        phone.goto(f"{live_server.url}{path}")
        assert fits_phone(phone), path
        phone.set_viewport_size({"width": 390, "height": 844})
        screenshot(phone, f"{name}-390")


def invitation_token(live_server) -> str:
    def invite() -> str:
        admin = db.session.scalar(db.select(User).where(User.email == "admin@demo.test"))
        user = people.invite(admin, "sam.reed@demo.test", "Sam Reed", "LAWYER")
        invitation = people.open_invitations([user.id])[user.id]
        return people.invitation_token(invitation)

    return live_server.run(invite)


def test_people_and_account_pages_have_no_serious_accessibility_violation(
    page_as, page, live_server, console
):
    found: list[str] = []
    console.watch(page)
    page.goto(f"{live_server.url}/invitations/{invitation_token(live_server)}")
    found += serious_violations(page, live_server.url)
    admin = page_as("admin@demo.test")
    for path in ("/admin/users", "/admin/tokens", "/account", "/account/tokens"):
        admin.goto(f"{live_server.url}{path}")
        found += serious_violations(admin, live_server.url)
    admin.goto(f"{live_server.url}/admin/users?confirm=deactivate-2")  # the dialog, open
    found += serious_violations(admin, live_server.url)
    client = page_as("client@demo.test")
    client.goto(f"{live_server.url}/account/tokens")
    found += serious_violations(client, live_server.url)
    assert found == [], "\n".join(found)
