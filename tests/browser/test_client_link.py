"""A client's one-step link in real Chromium at phone width (issue 14, point 4): the READY
email is read from an SMTP server on loopback, the link opens the step, a PDF is sent and
the step is done in three clicks; the same link then says it was used; another matter's
reference, title and steps never appear on the page."""

import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import SMALL_TARGETS, LiveServer
from tests.integration.engine_support import run_worker, smtp_server, wait_for
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, Matter, MatterMember, User, WorkflowTemplate
from webapp.models.base import utcnow
from webapp.services import client_link_issue, steps
from webapp.services.instances import instantiate
from webapp.services.matters import create_matter

PHONE_390 = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
SHOTS = Path("/tmp/shots/client-links")
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/c/[A-Za-z0-9_.\-]+)")
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
SECRETS = ("ZEBRA-042", "Zebra Holdings takeover", "Run conflict check", "Approve engagement")


def fits_390(page: Page) -> bool:
    """No sideways scrolling at 390 px, and every tap target at least 40 px tall."""
    page.wait_for_load_state("load")
    assert page.evaluate(SMALL_TARGETS) == [], page.url
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE_390["width"]


def both_widths(page: Page, name: str) -> None:
    """The page as it is, also at laptop width (a POST's answer cannot be loaded again)."""
    page.set_viewport_size(LAPTOP)
    page.screenshot(path=str(SHOTS / f"{name}-laptop.png"), full_page=True)
    page.set_viewport_size(PHONE_390)


def _user(role: str) -> User:
    return db.session.scalar(select(User).where(User.role == role))


def _step(key: str, matter: str = "DEMO-001") -> InstanceStep:
    return db.session.scalar(
        select(InstanceStep)
        .join(InstanceStep.instance)
        .join(Matter)
        .where(InstanceStep.key == key, Matter.reference == matter)
    )


def identity_step_ready() -> None:
    """The demo workflow up to the client's upload, and a second matter of the same client
    (with its own workflow) whose data must never show on the first one's link."""
    lawyer, client = _user(Role.LAWYER), _user(Role.CLIENT)
    other = create_matter(lawyer, "ZEBRA-042", "Zebra Holdings takeover")
    db.session.add(MatterMember(matter_id=other.id, user_id=client.id, role=Role.CLIENT))
    db.session.commit()
    template = db.session.scalar(select(WorkflowTemplate))
    instantiate(lawyer, template.id, other.id, title="Zebra intake")
    conflicts = _step("conflict_check")
    for item in conflicts.action_config["items"]:
        steps.perform(_user(Role.PARALEGAL), conflicts.id, steps.Tick(item, True))
    steps.perform(lawyer, _step("engagement_approval").id, steps.Complete({"approved": True}))


def test_client_sends_a_pdf_from_the_email_link_in_three_clicks_at_phone_width(
    browser, live_server: LiveServer, console, tmp_path: Path
) -> None:
    live_server.app.config.update(PUBLIC_URL=live_server.url, NOTIFICATIONS_ENABLED=True)
    live_server.run(identity_step_ready)
    with smtp_server() as (inbox, port):
        live_server.app.config["SMTP_PORT"] = port
        live_server.run(run_worker)
        assert wait_for(
            lambda: any(
                "Upload proof of identity" in m["message"]["Subject"] for m in inbox.messages
            )
        )
    client_email = live_server.run(lambda: _user(Role.CLIENT).email)
    [message] = [
        m["message"]
        for m in inbox.messages
        if m["rcpt"] == [client_email] and "Upload proof of identity" in m["message"]["Subject"]
    ]
    link = LINK.search(message.get_body(preferencelist=("plain",)).get_content()).group(1)

    context = browser.new_context(viewport=PHONE_390)  # no sign-in: the link is the proof
    page: Page = console.watch(context.new_page())
    page.set_default_timeout(10_000)
    clicks = 0
    page.goto(link)  # 1: the link in the email
    clicks += 1
    expect(page.get_by_role("heading", name="Upload proof of identity")).to_be_visible()
    for secret in SECRETS:
        assert secret not in page.content()
    assert fits_390(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "link-open-phone.png"), full_page=True)

    passport = tmp_path / "passport.pdf"
    passport.write_bytes(PDF)
    page.get_by_text("Choose files to send").set_input_files(str(passport))  # 2: the file
    clicks += 1
    page.get_by_role("button", name=re.compile("Send to")).click()  # 3: send
    clicks += 1
    expect(page.get_by_role("heading", name="Thank you — that is done")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("We received passport.pdf")
    assert clicks <= 3
    assert live_server.run(lambda: _step("identity_documents").action_state) == "COMPLETED"
    for secret in SECRETS:
        assert secret not in page.content()
    assert fits_390(page)
    page.screenshot(path=str(SHOTS / "link-done-phone.png"), full_page=True)
    both_widths(page, "link-done")

    page.goto(link)
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("already been used")
    page.screenshot(path=str(SHOTS / "link-used-phone.png"), full_page=True)
    both_widths(page, "link-used")
    context.close()


def issued_link() -> str:
    link = client_link_issue.issue(None, _step("identity_documents"), _user(Role.CLIENT))
    return client_link_issue.token_of(link)


def test_client_link_states_and_the_portal_read_well_at_laptop_and_phone_width(
    browser, live_server: LiveServer, console, page_as, tmp_path: Path
) -> None:
    """Screenshots of each state of a link, of the client's portal pages and of the
    lawyer's link control; each page fits a phone and shows no engine words."""
    live_server.run(identity_step_ready)
    token = live_server.run(issued_link)
    SHOTS.mkdir(parents=True, exist_ok=True)
    passport = tmp_path / "passport.pdf"
    passport.write_bytes(PDF)
    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE_390)):
        context = browser.new_context(viewport=viewport)
        page = console.watch(context.new_page())
        page.goto(f"{live_server.url}/c/{token}")
        page.screenshot(path=str(SHOTS / f"link-open-{name}.png"), full_page=True)
        if name == "phone":
            assert fits_390(page)
        context.close()

    lawyer = page_as("lawyer@demo.test", viewport=LAPTOP)
    path = live_server.run(
        lambda: "/matters/{}/workflows/{}".format(
            _step("identity_documents").instance.matter_id,
            _step("identity_documents").instance_id,
        )
    )
    lawyer.goto(live_server.url + path)
    control = lawyer.locator(
        "#step-{}-client-link".format(live_server.run(lambda: _step("identity_documents").id))
    )
    expect(control).to_contain_text("1 open")
    control.scroll_into_view_if_needed()
    lawyer.screenshot(path=str(SHOTS / "runner-link-control-laptop.png"), full_page=True)
    control.get_by_role("button", name="Withdraw link").click()
    expect(lawyer.get_by_text("The client's link is withdrawn")).to_be_visible()

    context = browser.new_context(viewport=PHONE_390)
    page = console.watch(context.new_page())
    page.goto(f"{live_server.url}/c/{token}")
    expect(page.get_by_role("alert")).to_contain_text("withdrawn by Demo Law LLP")
    page.screenshot(path=str(SHOTS / "link-revoked-phone.png"), full_page=True)
    both_widths(page, "link-revoked")
    later = live_server.run(
        lambda: client_link_issue.token_of(
            client_link_issue.issue(None, _step("identity_documents"), _user(Role.CLIENT))
        )
    )
    moment = utcnow() + timedelta(days=8)
    live_server.app.config["CLOCK"] = lambda: moment
    page.goto(f"{live_server.url}/c/{later}")
    expect(page.get_by_role("alert")).to_contain_text("This link has expired")
    page.screenshot(path=str(SHOTS / "link-expired-phone.png"), full_page=True)
    both_widths(page, "link-expired")
    live_server.app.config.pop("CLOCK")
    context.close()

    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE_390)):
        client = page_as("client@demo.test", viewport=viewport)
        client.goto(f"{live_server.url}/inbox")
        client.screenshot(path=str(SHOTS / f"portal-inbox-{name}.png"), full_page=True)
        client.goto(f"{live_server.url}/matters")
        client.screenshot(path=str(SHOTS / f"portal-matters-{name}.png"), full_page=True)
        client.goto(live_server.url + path.rsplit("/", 1)[0])
        client.screenshot(path=str(SHOTS / f"portal-matter-{name}.png"), full_page=True)
        client.goto(live_server.url + path)
        expect(client.get_by_role("heading", name="Asked of you")).to_be_visible()
        client.screenshot(path=str(SHOTS / f"portal-workflow-{name}.png"), full_page=True)
        if name == "phone":
            assert fits_390(client)
    client.get_by_text("Choose files to send").set_input_files(str(passport))
    client.get_by_role("button", name=re.compile("Send to")).click()
    expect(client.locator("#portal-done")).to_contain_text("We received passport.pdf")
    client.get_by_text("Add another file").click()
    client.screenshot(path=str(SHOTS / "portal-workflow-done-phone.png"), full_page=True)
    client.get_by_label(re.compile("Another file for")).set_input_files(str(passport))
    client.locator("#portal-done").get_by_role("button", name="Send").click()
    expect(client.locator("#portal-done li")).to_have_count(2)
    for word in ("Failed", "IN_PROGRESS", "Claim for me", "Audit trail", "identity_documents"):
        assert word not in client.locator("main").inner_text()
