"""The runner in real Chromium as a client: no controls on the firm's steps (and a forged
POST to them changes nothing), and the signature and payment through the sandbox pages."""

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from tests.browser.conftest import PHONE, LiveServer, fits_phone
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, User, WorkflowEvent, WorkflowInstance
from webapp.services import instances, steps, templates


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
    expect(client.locator("#portal-next")).to_contain_text("Upload proof of identity")
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
    # A client sees only the steps addressed to clients: the approval does not exist for them.
    assert response.status == 404
    assert f"Step {approval_id} was not found." in response.text()

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
    expect(client.locator("#portal-done")).to_contain_text("We received your signature")

    client.get_by_role("button", name="Pay now").click()
    expect(client).to_have_url(re.compile(r"/sandbox/pay/sbx_pay_"))
    phone = page_as("client@demo.test", viewport=PHONE)
    phone.goto(client.url)
    expect(phone.get_by_text("Sandbox — no real payment.")).to_be_visible()
    assert fits_phone(phone)
    screenshot(phone, "sandbox-pay-phone")
    screenshot(client, "sandbox-pay-laptop")
    client.get_by_role("button", name=re.compile(r"Pay 1,500\.00 USD")).click()
    expect(client.locator("#instance-status")).to_have_text("Finished")
    expect(client.locator("#portal-done")).to_contain_text("We received your payment of 1,500.00")
    expect(client.locator("#audit-trail")).to_have_count(0)  # the firm's record, not theirs
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


def test_focus_stays_on_the_steps_after_an_approval_swaps_the_groups_when_using_the_keyboard(
    page_as, live_server: LiveServer
) -> None:
    live_server.run(finish_conflict_check)
    approval_id, path = live_server.run(lambda: (_step("engagement_approval").id, runner_path()))
    lawyer: Page = page_as("lawyer@demo.test")
    lawyer.goto(live_server.url + path)
    approve = lawyer.locator(f"#step-{approval_id}").get_by_role("button", name="Approve")
    approve.focus()
    lawyer.keyboard.press("Enter")

    expect(lawyer.locator(f"#step-{approval_id}")).to_have_class(re.compile("state-completed"))
    lawyer.wait_for_function("() => document.activeElement !== document.body")
    inside = lawyer.evaluate(
        "() => document.activeElement.closest('.step-card')?.id ?? document.activeElement.tagName"
    )
    assert inside == f"step-{approval_id}"  # nothing left for the lawyer: the step they acted on
    lawyer.keyboard.press("Tab")
    assert lawyer.evaluate("() => document.activeElement.tagName") != "BODY"


def two_lawyer_checklists() -> tuple[str, int, int]:
    """A workflow on the demo matter: two one-item checklists for the lawyer, in a row."""
    lawyer = _user(Role.LAWYER)
    matter_id = db.session.scalar(select(WorkflowInstance.matter_id))
    definitions = [
        StepDefinition(
            key=key,
            title=title,
            action_type="CHECKLIST",
            action_config={"items": ["Done"]},
            role_scope=Role.LAWYER,
        )
        for key, title in (("draft", "Draft the letter"), ("review", "Review the letter"))
    ]
    template = templates.create_template(lawyer, "Letter", definitions)
    templates.publish_template(lawyer, template.id)
    instance, _created = instances.instantiate(lawyer, template.id, matter_id)
    ids = {s.key: s.id for s in instance.steps}
    return f"/matters/{matter_id}/workflows/{instance.id}", ids["draft"], ids["review"]


def test_focus_moves_to_the_next_step_the_person_may_work_on_when_a_tick_completes_one(
    page_as, live_server: LiveServer
) -> None:
    path, draft_id, review_id = live_server.run(two_lawyer_checklists)
    lawyer: Page = page_as("lawyer@demo.test")
    lawyer.goto(live_server.url + path)
    lawyer.locator(f"#step-{draft_id}").get_by_label("Done").check()

    expect(lawyer.locator(f"#step-{draft_id}")).to_have_class(re.compile("state-completed"))
    lawyer.wait_for_function(f"() => document.activeElement.closest('#step-{review_id}')")
    assert lawyer.evaluate("() => document.activeElement.type") == "checkbox"
