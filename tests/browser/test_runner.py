"""The runner in real Chromium as a client: no controls on the firm's steps (and a forged
POST to them changes nothing), and the signature and payment through the sandbox pages."""

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from tests.browser.conftest import PHONE, LiveServer, fits_phone
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, User, WorkflowEvent, WorkflowInstance
from webapp.services import steps


def _user(role: str) -> User:
    return db.session.scalar(select(User).where(User.role == role))


def _step(key: str) -> InstanceStep:
    return db.session.scalar(select(InstanceStep).where(InstanceStep.key == key))


def finish_conflict_check() -> None:
    step = _step("conflict_check")
    for item in step.action_config["items"]:
        steps.perform(_user(Role.PARALEGAL), step.id, steps.Tick(item, True))


def finish_until_signature() -> None:
    finish_conflict_check()
    steps.perform(
        _user(Role.LAWYER), _step("engagement_approval").id, steps.Complete({"approved": True})
    )
    upload = steps.IncomingFile("passport.pdf", "application/pdf", b"%PDF-1.4\n")
    steps.perform(_user(Role.CLIENT), _step("identity_documents").id, steps.Upload([upload]))


def runner_path() -> str:
    instance = db.session.scalar(select(WorkflowInstance))
    return f"/matters/{instance.matter_id}/workflows/{instance.id}"


def test_client_sees_no_approval_controls_and_a_forged_post_is_refused_when_approval_is_ready(
    page_as, live_server: LiveServer
) -> None:
    live_server.run(finish_conflict_check)
    approval_id, path = live_server.run(lambda: (_step("engagement_approval").id, runner_path()))
    client: Page = page_as("client@demo.test")
    client.goto(live_server.url + path)
    expect(client.get_by_role("heading", name="Upload proof of identity")).to_be_visible()
    expect(client.get_by_text("Approve engagement")).to_have_count(0)
    expect(client.get_by_role("button", name="Approve")).to_have_count(0)

    events_before = live_server.run(
        lambda: db.session.scalar(select(func.count()).select_from(WorkflowEvent))
    )
    token = client.locator('meta[name="csrf-token"]').get_attribute("content")
    response = client.request.post(
        f"{live_server.url}/steps/{approval_id}/complete",
        form={"approved": "true", "comment": "forged"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    # A client does not see the firm's steps: not found, as merge 'leaks' decided.
    assert response.status == 404
    assert f"Step {approval_id} was not found" in response.text()

    def unchanged() -> tuple[str, int]:
        count = db.session.scalar(select(func.count()).select_from(WorkflowEvent))
        return _step("engagement_approval").action_state, count

    assert live_server.run(unchanged) == ("READY", events_before)


def test_client_signs_and_pays_through_the_sandbox_when_those_steps_are_ready(
    page_as, live_server: LiveServer, screenshot
) -> None:
    live_server.run(finish_until_signature)
    path = live_server.run(runner_path)
    client = page_as("client@demo.test")
    client.goto(live_server.url + path)
    client.get_by_role("button", name="Review and sign").click()
    expect(client).to_have_url(re.compile(r"/sandbox/esign/sbx_sig_"))
    expect(client.get_by_text("Sandbox — no real signature.")).to_be_visible()
    screenshot(client, "sandbox-esign-laptop")
    client.get_by_role("button", name="Sign document (sandbox)").click()
    expect(client.get_by_text("Signed in the sandbox. The step is complete.")).to_be_visible()
    expect(client.locator("#group-completed")).to_contain_text("Sign the engagement letter")

    client.get_by_role("button", name="Pay now").click()
    expect(client).to_have_url(re.compile(r"/sandbox/pay/sbx_pay_"))
    phone = page_as("client@demo.test", viewport=PHONE)
    phone.goto(client.url)
    expect(phone.get_by_text("Sandbox — no real payment.")).to_be_visible()
    assert fits_phone(phone)
    screenshot(phone, "sandbox-pay-phone")
    screenshot(client, "sandbox-pay-laptop")
    client.get_by_role("button", name=re.compile(r"Pay 1,500\.00 USD")).click()
    expect(client.locator("#instance-status")).to_have_text("Completed")
    expect(client.locator("#audit-trail")).to_contain_text(
        "Casey Client completed Pay the retainer"
    )
    assert live_server.run(lambda: _step("retainer").action_state) == "COMPLETED"


def test_stale_click_shows_the_conflict_inside_the_step_when_someone_else_finished_it(
    page_as, live_server: LiveServer
) -> None:
    path = live_server.run(runner_path)
    paralegal = page_as("paralegal@demo.test")
    paralegal.goto(live_server.url + path)
    card = paralegal.locator("article.step-card").filter(has_text="Run conflict check")
    expect(card.get_by_label("Search client database")).to_be_enabled()
    live_server.run(finish_conflict_check)  # finished meanwhile, e.g. in another tab

    card.get_by_label("Search client database").check()
    alert = card.locator(".inline-error")
    expect(alert).to_contain_text("Someone changed this first")
    expect(alert).to_contain_text("already COMPLETED")
    expect(paralegal.locator("#group-ready")).to_contain_text("Run conflict check")  # untouched
