"""Moving a workflow to a newer template version in real Chromium: the runner's panel,
its preview and the confirmation dialog; an admin's bulk check, run and report. Takes
screenshots at laptop and phone widths."""

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import PHONE, LiveServer, fits_phone
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.engine.step_rows import definition_of
from webapp.extensions import db
from webapp.models import User, WorkflowInstance, WorkflowTemplate
from webapp.services import templates
from webapp.worker import drain

LAPTOP = {"width": 1280, "height": 900}
PHONE_390 = {"width": 390, "height": 844}


def publish_second_version() -> int:
    lawyer = db.session.scalar(select(User).where(User.role == Role.LAWYER))
    v1 = db.session.scalar(
        select(WorkflowTemplate).where(WorkflowTemplate.key == "client_onboarding")
    )
    steps = [StepDefinition.model_validate(definition_of(s)) for s in v1.steps]
    extra = {
        "key": "closing_memo",
        "title": "Write the closing memo",
        "actionType": "CHECKLIST",
        "actionConfig": {"items": ["Summarise the outcome"]},
        "roleScope": "PARALEGAL",
    }
    changed = templates.perform(
        lawyer, v1.id, templates.Update(steps=[*steps, StepDefinition.model_validate(extra)])
    )
    templates.perform(lawyer, changed.template.id, templates.Publish())
    return changed.template.id


def runner_path() -> str:
    instance = db.session.scalar(select(WorkflowInstance))
    return f"/matters/{instance.matter_id}/workflows/{instance.id}"


def test_owner_reviews_and_moves_a_workflow_to_the_new_version(
    page_as, live_server: LiveServer, screenshot
):
    live_server.run(publish_second_version)
    path = live_server.run(runner_path)
    page: Page = page_as("lawyer@demo.test", viewport=LAPTOP)
    page.goto(live_server.url + path)
    panel = page.locator("#migration-panel")
    expect(panel).to_contain_text("Move to version 2")
    panel.get_by_role("link", name="Review the changes").click()
    expect(panel).to_contain_text("The new version adds the step “Write the closing memo”.")
    screenshot(page, "migration-runner-panel-1280")
    panel.get_by_role("button", name="Move to version 2…").click()
    dialog = page.locator("#move-dialog")
    expect(dialog).to_be_visible()
    screenshot(page, "migration-confirm-1280")
    dialog.get_by_role("button", name="Move to version 2").click()
    expect(page.locator(".flash")).to_contain_text("now follows version 2")
    expect(page.locator("#migration-panel")).to_have_count(0)


def test_move_preview_fits_a_phone(page_as, live_server: LiveServer, screenshot):
    live_server.run(publish_second_version)
    path = live_server.run(runner_path)
    page = page_as("lawyer@demo.test", viewport=PHONE_390)
    page.goto(f"{live_server.url}{path}/migration?toVersion=2")
    expect(page.get_by_role("heading", name="Move to version 2")).to_be_visible()
    screenshot(page, "migration-preview-390")
    page.set_viewport_size(PHONE)
    assert fits_phone(page)


def test_admin_checks_and_moves_every_running_workflow_of_a_version(
    page_as, live_server: LiveServer, screenshot
):
    target_id = live_server.run(publish_second_version)
    page = page_as("admin@demo.test", viewport=LAPTOP)
    page.goto(f"{live_server.url}/workflows/templates/{target_id}/migrations")
    page.get_by_role("link", name="Check which can move").click()
    report = page.locator("#bulk-report")
    expect(report).to_contain_text("Can move")
    screenshot(page, "migration-bulk-check-1280")
    report.get_by_role("button", name="Move 1 workflow…").click()
    page.locator("#start-dialog").get_by_role("button", name="Move the workflows").click()
    page.wait_for_url("**/migrations/*")
    live_server.run(lambda: drain("browser-worker", until_idle=True))
    expect(page.locator("#run-progress")).to_contain_text("Done", timeout=10_000)
    expect(page.locator("#run-progress")).to_contain_text("Moved")
    screenshot(page, "migration-bulk-report-1280")
    page.set_viewport_size(PHONE_390)
    screenshot(page, "migration-bulk-report-390")
    page.set_viewport_size(PHONE)
    assert fits_phone(page)
