"""Seed 001's end-to-end smoke in real Chromium: a lawyer builds a three-step template,
reorders it by dragging, publishes it and starts it on DEMO-001; the paralegal ticks the
checklist, the lawyer approves, the client uploads a PDF; the workflow is Completed and
the audit trail names everyone who acted."""

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from tests.browser.conftest import PHONE, LiveServer, fits_phone
from webapp.extensions import db
from webapp.models import TemplateStep, User, WorkflowEvent, WorkflowInstance, WorkflowTemplate

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def add_step(page: Page, title: str, action: str, role: str, config: dict[str, str]) -> None:
    form = page.locator("#add-step")
    if form.locator("#add-type option:checked").inner_text() != action:
        with page.expect_response(re.compile(r"/add-form\?")):  # the form follows the type
            form.get_by_label("Action").select_option(label=action)
    for label in config:  # the config fields follow the chosen action type
        expect(form.get_by_label(label)).to_be_visible()
    form.get_by_label("Title").fill(title)
    form.get_by_label(re.compile(r"^Who (acts|approves)$")).select_option(label=role)  # approvals
    for label, value in config.items():
        form.get_by_label(label).fill(value)
    form.get_by_role("button", name="Add step").click()
    expect(page.locator("#builder-steps .row-title").last).to_have_value(title)


def drag(page: Page, handle: Locator, target: Locator, moved: Callable[[], None]) -> None:
    """A real pointer drag, paced like a hand (one small move per frame): Sortable starts
    dragging on the first moves, then reads the pointer on a 50 ms timer. The button is
    released once the row has actually moved. Both rows are scrolled into view first, so
    a scroll that a focus change set off cannot move them under the pointer."""
    target.scroll_into_view_if_needed()
    handle.scroll_into_view_if_needed()
    start, end = handle.bounding_box(), target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    goal = end["y"] + end["height"] / 3
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y - 6, steps=3)
    expect(page.locator(".sortable-fallback")).to_have_count(1)
    for i in range(1, 16):
        page.mouse.move(x, y + (goal - y) * i / 15)
        page.wait_for_timeout(20)  # one frame between moves, as a person drags
    moved()
    page.mouse.up()


def titles(page: Page) -> list[str]:
    return page.locator("#builder-steps .row-title").evaluate_all("els => els.map(e => e.value)")


def build_and_publish(page: Page, live_server: LiveServer, screenshot) -> int:
    page.get_by_role("link", name="Templates").click()
    page.wait_for_url(re.compile(r"/workflows/templates$"))
    screenshot(page, "templates-laptop")
    page.get_by_role("link", name="Create template").click()
    page.get_by_label("Name").fill("Matter intake")
    page.get_by_role("button", name="Create and open the builder").click()
    expect(page.get_by_role("heading", name=re.compile("Matter intake"))).to_be_visible()

    add_step(page, "Partner approval", "Lawyer approval", "Lawyer", {"Message": "Take it on?"})
    add_step(
        page, "Conflict check", "Checklist", "Paralegal", {"Items": "Search clients\nRecord result"}
    )
    add_step(
        page,
        "Signed retainer",
        "Document request",
        "Client",
        {"Request text": "The signed retainer, as a PDF", "Accepted types": "pdf"},
    )
    assert titles(page) == ["Partner approval", "Conflict check", "Signed retainer"]
    # "Add step" moves the focus to the new step's title: let it settle before dragging.
    expect(page.locator("#builder-steps .row-title").last).to_be_focused()

    rows = page.locator("#builder-steps .step-row")
    first_title = page.locator("#builder-steps .row-title").first
    with page.expect_response(re.compile(r"/steps/reorder$")):
        drag(
            page,
            rows.nth(1).locator(".drag-handle"),
            rows.nth(0),
            lambda: expect(first_title).to_have_value("Conflict check"),
        )
    expect(page.locator("#builder-steps .step-number").first).to_have_text("1")
    assert titles(page) == ["Conflict check", "Partner approval", "Signed retainer"]
    template_id = int(re.search(r"/workflows/templates/(\d+)", page.url).group(1))

    def saved_order() -> list[str]:
        steps = db.session.scalars(
            select(TemplateStep)
            .where(TemplateStep.template_id == template_id)
            .order_by(TemplateStep.order)
        )
        return [s.title for s in steps]

    assert live_server.run(saved_order) == ["Conflict check", "Partner approval", "Signed retainer"]
    expect(page.locator("#preview .stage-first")).to_contain_text("Conflict check")
    screenshot(page, "builder-laptop")

    page.get_by_role("button", name="Publish v1").click()
    expect(page.locator(".page-heading h1")).to_contain_text("Published")
    return template_id


def start_on_demo_matter(page: Page, screenshot) -> str:
    page.get_by_role("link", name="Matters").click()
    page.wait_for_url(re.compile(r"/matters$"))
    screenshot(page, "matters-laptop")
    page.get_by_role("link", name="Acme Corp v. Widget Ltd").click()
    page.wait_for_url(re.compile(r"/matters/\d+/workflows$"))
    screenshot(page, "matter-workflows-laptop")
    page.get_by_label("Template").select_option(label="Matter intake (v1, 3 steps)")
    page.get_by_label("Title").fill("Intake — Acme Corp")
    page.get_by_role("button", name="Start workflow").click()
    expect(page.get_by_role("heading", name=re.compile("Intake — Acme Corp"))).to_be_visible()
    return page.url


def step_card(page: Page, title: str) -> Locator:
    return page.locator("article.step-card").filter(has=page.get_by_role("heading", name=title))


def test_smoke_runs_template_to_completed_workflow_when_each_role_does_its_step(
    page_as, live_server: LiveServer, screenshot
) -> None:
    lawyer = page_as("lawyer@demo.test")
    build_and_publish(lawyer, live_server, screenshot)
    runner_url = start_on_demo_matter(lawyer, screenshot)
    expect(lawyer.locator("#group-ready")).to_contain_text("Conflict check")

    paralegal = page_as("paralegal@demo.test")
    screenshot(paralegal, "inbox-laptop")
    paralegal.get_by_role("link", name=re.compile("Conflict check")).click()
    card = step_card(paralegal, "Conflict check")
    card.get_by_label("Search clients").check()
    expect(card).to_contain_text("1 of 2 done")
    card.get_by_label("Record result").check()
    expect(paralegal.locator("#group-completed")).to_contain_text("Conflict check")
    expect(paralegal.locator("#group-ready")).to_contain_text("Partner approval")

    lawyer.goto(runner_url)
    approval = step_card(lawyer, "Partner approval")
    approval.get_by_label("Comment").fill("No conflicts; go ahead.")
    screenshot(lawyer, "runner-laptop")
    approval.get_by_role("button", name="Approve").click()
    expect(lawyer.locator("#group-completed")).to_contain_text("Partner approval")
    expect(lawyer.locator("#instance-status")).to_have_text("Waiting for input")

    client = page_as("client@demo.test")
    client.get_by_role("link", name=re.compile("Signed retainer")).click()
    # The client's portal (templates/client_links/portal.html): plain words, a receipt.
    upload = client.locator("#portal-to-do article").filter(
        has=client.get_by_role("heading", name="Signed retainer")
    )
    expect(upload).to_contain_text("PDF · up to")
    upload.locator("input[type=file]").set_input_files(
        {"name": "retainer.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    upload.get_by_role("button", name=re.compile("Send to")).click()
    expect(client.locator("#instance-status")).to_have_text("Finished")
    expect(client.locator("#portal-done")).to_contain_text("We received retainer.pdf")

    lawyer.goto(runner_url)
    expect(lawyer.locator("#instance-status")).to_have_text("Completed")
    trail = lawyer.locator("#audit-trail")
    for line in (
        "Pat Paralegal completed Conflict check",
        "Lee Lawyer completed Partner approval",
        "Casey Client completed Signed retainer",
        "Lee Lawyer started this workflow",
    ):
        expect(trail).to_contain_text(line)
    expect(trail).to_contain_text("Approved: No conflicts; go ahead.")
    screenshot(lawyer, "runner-completed-laptop")

    def completions() -> list[tuple[str, str]]:
        instance = db.session.scalar(
            select(WorkflowInstance).where(WorkflowInstance.title == "Intake — Acme Corp")
        )
        rows = db.session.execute(
            select(User.name, WorkflowEvent.new_status)
            .join(User, User.id == WorkflowEvent.actor_id)
            .where(
                WorkflowEvent.instance_id == instance.id,
                WorkflowEvent.event_type == "step.complete",
            )
            .order_by(WorkflowEvent.id)
        )
        return [tuple(r) for r in rows]

    assert live_server.run(completions) == [
        ("Pat Paralegal", "COMPLETED"),
        ("Lee Lawyer", "COMPLETED"),
        ("Casey Client", "COMPLETED"),
    ]

    phone_pages(page_as, live_server, runner_url, screenshot)


def phone_pages(page_as, live_server: LiveServer, runner_url: str, screenshot) -> None:
    """The same product on a 375 px phone: no sideways scrolling, and a published version
    is edited as its next draft."""
    paralegal = page_as("paralegal@demo.test", viewport=PHONE)
    expect(paralegal.get_by_role("link", name=re.compile("Run conflict check"))).to_be_visible()
    assert fits_phone(paralegal)
    screenshot(paralegal, "inbox-phone")

    lawyer = page_as("lawyer@demo.test", viewport=PHONE)
    for path, name in (
        ("/workflows/templates", "templates-phone"),
        ("/matters/1/workflows", "matter-workflows-phone"),
        (runner_url.removeprefix(live_server.url), "runner-phone"),
    ):
        lawyer.goto(live_server.url + path)
        assert fits_phone(lawyer), name
        screenshot(lawyer, name)
    lawyer.goto(live_server.url + "/workflows/templates")
    lawyer.get_by_role("link", name="Matter intake").click()
    lawyer.wait_for_url(re.compile(r"/workflows/templates/\d+$"))
    published_url = lawyer.url
    lawyer.get_by_role("button", name="Edit as new version").click()
    lawyer.wait_for_url(lambda url: url != published_url)  # the new draft, fully loaded
    expect(lawyer.locator(".page-heading h1")).to_contain_text("Draft")
    expect(lawyer.get_by_role("button", name="Publish v2")).to_be_visible()
    assert fits_phone(lawyer)
    screenshot(lawyer, "builder-phone")

    def versions() -> list[tuple[int, str]]:
        rows = db.session.execute(
            select(WorkflowTemplate.version, WorkflowTemplate.status)
            .where(WorkflowTemplate.name == "Matter intake")
            .order_by(WorkflowTemplate.version)
        )
        return [tuple(r) for r in rows]

    assert live_server.run(versions) == [(1, "PUBLISHED"), (2, "DRAFT")]
