"""The workflow's lifecycle and its definition in real Chromium: the drift badge turns
"Drifted" after an edit in the instance editor (without a reload), cancelling asks first,
and an admin retries a dead job from /admin/jobs. Screenshots of each, laptop and phone."""

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import PHONE, LiveServer, admin_link, fits_phone
from tests.browser.setups import dead_letter_workflow, onboarding_id
from webapp.extensions import db
from webapp.models import InstanceStep, Job, WorkflowInstance


def _runner(instance_id: int) -> str:
    return f"/matters/1/workflows/{instance_id}"


def _status(instance_id: int) -> str:
    return db.session.get(WorkflowInstance, instance_id).status


def _keep_page_marker(page: Page) -> None:
    """Set a value that only survives while the page is not reloaded."""
    page.evaluate("window.__samePage = true")


def _same_page(page: Page) -> bool:
    return page.evaluate("window.__samePage === true")


def test_drift_badge_turns_drifted_after_an_edit_in_the_instance_editor_when_lawyer_renames(
    page_as, live_server: LiveServer, screenshot
) -> None:
    instance_id = live_server.run(onboarding_id)
    lawyer = page_as("lawyer@demo.test")
    lawyer.goto(live_server.url + _runner(instance_id))
    expect(lawyer.locator("#drift-badge")).to_have_text("In sync")

    lawyer.get_by_role("link", name="Edit steps").click()
    expect(lawyer.locator("#drift-badge")).to_have_text("In sync")
    _keep_page_marker(lawyer)
    title = lawyer.get_by_label("Title of step 2")
    title.fill("Partner sign-off")
    title.press("Enter")
    expect(lawyer.locator("#drift-badge")).to_have_text("Drifted")
    expect(lawyer.locator("#change-history")).to_contain_text(
        "Lee Lawyer changed the step “Partner sign-off”"
    )
    assert _same_page(lawyer)

    lawyer.get_by_role("link", name="Done editing").click()
    expect(lawyer.locator("#drift-badge")).to_have_text("Drifted")
    lawyer.locator("#drift summary").click()
    summary = lawyer.locator("#drift .drift-summary")
    expect(summary).to_contain_text("Changed: “Partner sign-off”")
    expect(summary).to_contain_text("Title: “Approve engagement” → “Partner sign-off”")
    screenshot(lawyer, "runner-drift-history-laptop")

    phone = page_as("lawyer@demo.test", viewport=PHONE)
    phone.goto(live_server.url + _runner(instance_id))
    phone.locator("#drift summary").click()
    expect(phone.locator("#drift .drift-summary")).to_contain_text("Partner sign-off")
    assert fits_phone(phone)
    screenshot(phone, "runner-drift-history-phone")


def test_cancel_asks_for_confirmation_and_cancels_only_after_confirming_when_lawyer_cancels(
    page_as, live_server: LiveServer, screenshot
) -> None:
    instance_id = live_server.run(onboarding_id)
    lawyer = page_as("lawyer@demo.test")
    lawyer.goto(live_server.url + _runner(instance_id))
    dialog = lawyer.get_by_role("dialog", name="Cancel “Onboarding — Acme Corp”?")

    lawyer.get_by_role("button", name="Cancel workflow…").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Are you sure? This stops every open step")
    expect(dialog.get_by_label("Reason")).to_be_focused()
    screenshot(lawyer, "cancel-confirmation-laptop")
    dialog.get_by_role("link", name="Keep the workflow").click()
    expect(dialog).to_be_hidden()
    assert live_server.run(lambda: _status(instance_id)) == "Running"

    lawyer.get_by_role("button", name="Cancel workflow…").click()
    dialog.get_by_label("Reason").fill("The client withdrew the instruction.")
    dialog.get_by_role("button", name="Cancel workflow").click()
    expect(lawyer.locator("#instance-status")).to_have_text("Cancelled")
    expect(lawyer.locator("#instance-progress")).to_contain_text(
        "Cancelled by Lee Lawyer", ignore_case=False
    )
    expect(lawyer.locator("#instance-progress")).to_contain_text("The client withdrew")
    expect(lawyer.get_by_role("button", name="Cancel workflow…")).to_have_count(0)
    assert live_server.run(lambda: _status(instance_id)) == "Cancelled"

    phone = page_as("admin@demo.test", viewport=PHONE)
    phone.goto(live_server.url + "/matters")
    expect(phone.locator("#matter-rows")).to_contain_text("1 cancelled")
    assert fits_phone(phone)
    screenshot(phone, "matters-list-phone")
    phone.goto(live_server.url + "/matters/1/workflows")
    phone.get_by_role("button", name="Delete matter…").click()
    expect(phone.get_by_role("dialog", name="Delete DEMO-001?")).to_be_visible()
    screenshot(phone, "delete-matter-confirmation-phone")


def test_cancel_dialog_fits_a_phone_when_opened(
    page_as, live_server: LiveServer, screenshot
) -> None:
    instance_id = live_server.run(onboarding_id)
    phone = page_as("lawyer@demo.test", viewport=PHONE)
    phone.goto(live_server.url + _runner(instance_id))
    assert fits_phone(phone)
    phone.get_by_role("button", name="Cancel workflow…").click()
    dialog = phone.get_by_role("dialog")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(phone, "cancel-confirmation-phone")


def test_admin_retries_a_dead_job_from_the_jobs_page_when_a_step_ran_out_of_attempts(
    page_as, live_server: LiveServer, screenshot
) -> None:
    instance_id = live_server.run(dead_letter_workflow)
    admin = page_as("admin@demo.test")
    admin.goto(live_server.url + _runner(instance_id))
    card = admin.locator("article.step-card").filter(has_text="Notify the e-filing service")
    expect(card).to_contain_text("1 attempt")
    expect(card).to_contain_text("loopback address")
    screenshot(admin, "runner-automated-failed-laptop")

    admin.goto(live_server.url + "/matters")
    summary = admin.locator("#matter-rows .summary").first
    expect(summary).to_contain_text("1 waiting for input")
    expect(summary).to_contain_text("1 running")
    screenshot(admin, "matters-list-laptop")

    admin_link(admin, "Jobs").click()
    expect(admin.locator("#count-dead")).to_have_text("1")
    row = admin.locator("#dead-letters tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Notify the e-filing service")
    expect(row).to_contain_text("1 of 1")
    screenshot(admin, "admin-jobs-laptop")

    phone = page_as("admin@demo.test", viewport=PHONE)
    phone.goto(admin.url)
    assert fits_phone(phone)
    screenshot(phone, "admin-jobs-phone")

    # Other jobs wait too (emails held by the throttle, deadline notices): the retry adds one.
    pending = int(admin.locator("#count-pending").inner_text())
    row.get_by_role("button", name="Retry").click()
    expect(admin.locator("#dead-letters")).to_contain_text("is queued again")
    expect(admin.locator("#dead-letters")).to_contain_text("No dead letters")
    expect(admin.locator("#count-dead")).to_have_text("0")
    expect(admin.locator("#count-pending")).to_have_text(str(pending + 1))

    def after() -> tuple[str, str]:
        job = db.session.scalar(select(Job).where(Job.kind == "step.run", Job.attempts == 0))
        step = db.session.scalar(select(InstanceStep).where(InstanceStep.key == "notify_court"))
        return job.status, step.action_state

    assert live_server.run(after) == ("PENDING", "READY")
