"""Forms a person can trust, in real Chromium: a button is off while its request runs and
back on after an error; a double click or a retried request changes things once; after a
swap the focus is on the next sensible control, never the page body."""

import time
from collections.abc import Callable
from typing import Any

from flask import request
from playwright.sync_api import Page, Route, expect
from sqlalchemy import func, select

from tests.browser.conftest import ConsoleWatch, LiveServer
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, TemplateStep, User, WorkflowInstance
from webapp.services.templates import create_template

LAWYER = "lawyer@demo.test"


def slow_posts(live_server: LiveServer, ending: str, seconds: float = 0.8) -> None:
    """The server takes its time on POSTs to paths ending with `ending` (registered
    before the first request, as Flask requires)."""

    def wait() -> None:
        if request.method == "POST" and request.path.endswith(ending):
            time.sleep(seconds)

    live_server.app.before_request(wait)


def draft_template() -> int:
    lawyer = db.session.scalar(select(User).where(User.role == Role.LAWYER))
    first = StepDefinition(
        key="intake", title="Intake", action_type="CHECKLIST", action_config={"items": ["Call"]}
    )
    return create_template(lawyer, "Forms in a browser", [first]).id


def step_titles(template_id: int) -> Callable[[], list[str]]:
    def read() -> list[str]:
        return list(
            db.session.scalars(
                select(TemplateStep.title)
                .where(TemplateStep.template_id == template_id)
                .order_by(TemplateStep.order)
            )
        )

    return read


def fill_new_step(page: Page, title: str) -> None:
    card = page.locator("#add-step")
    card.get_by_label("Title").fill(title)
    card.get_by_label("Items").fill("Check the funds")


def active(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => { const el = document.activeElement;
             return {tag: el.tagName, id: el.id, name: el.getAttribute('name') || '',
                     row: el.closest('.step-row') ? el.closest('.step-row').id : ''}; }"""
    )


def test_add_step_button_is_off_while_it_runs_and_a_double_click_adds_one_step(
    page_as, live_server: LiveServer
) -> None:
    slow_posts(live_server, "/steps")
    template_id = live_server.run(draft_template)
    page: Page = page_as(LAWYER)
    page.goto(f"{live_server.url}/workflows/templates/{template_id}")
    fill_new_step(page, "Collect proof of funds")
    button = page.locator("#add-step").get_by_role("button", name="Add step")
    button.dblclick()
    expect(button).to_be_disabled()
    expect(page.locator(".step-row")).to_have_count(2)
    assert live_server.run(step_titles(template_id)) == ["Intake", "Collect proof of funds"]

    # Focus moved to the new step's title, and Tab goes on within that step.
    new_id = live_server.run(
        lambda: db.session.scalar(
            select(TemplateStep.id).where(TemplateStep.title == "Collect proof of funds")
        )
    )
    expect(page.locator(f"#step-{new_id}-title")).to_be_focused()
    page.keyboard.press("Tab")
    focused = active(page)
    assert focused["tag"] != "BODY"
    assert focused["row"] == f"step-row-{new_id}", focused


def test_title_edit_in_a_row_keeps_the_focus_in_that_row_when_the_row_is_swapped(
    page_as, live_server: LiveServer
) -> None:
    template_id = live_server.run(draft_template)
    page: Page = page_as(LAWYER)
    page.goto(f"{live_server.url}/workflows/templates/{template_id}")
    intake_id = live_server.run(
        lambda: db.session.scalar(select(TemplateStep.id).where(TemplateStep.key == "intake"))
    )
    title = page.locator(f"#step-{intake_id}-title")
    title.fill("Intake call")
    title.press("Enter")  # saves on change; the row is swapped
    expect(page.locator(f"#step-row-{intake_id}")).to_have_attribute("data-step-id", str(intake_id))
    page.wait_for_function("() => document.activeElement !== document.body")
    page.keyboard.press("Tab")
    focused = active(page)
    assert focused["tag"] != "BODY" and focused["row"] == f"step-row-{intake_id}", focused
    assert live_server.run(step_titles(template_id)) == ["Intake call"]


def test_a_retried_add_step_changes_things_once_when_the_first_answer_was_lost(
    page_as, live_server: LiveServer, console: ConsoleWatch
) -> None:
    template_id = live_server.run(draft_template)
    page: Page = page_as(LAWYER)
    page.goto(f"{live_server.url}/workflows/templates/{template_id}")
    keys: list[str] = []

    def lose_the_answer(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        route.fetch()  # the server makes the change …
        route.abort()  # … and its answer never arrives

    page.route("**/steps", lose_the_answer)
    fill_new_step(page, "Engagement letter")
    button = page.locator("#add-step").get_by_role("button", name="Add step")
    button.click()
    expect(page.locator("#toast")).to_be_visible()
    expect(button).to_be_enabled()  # back on after the error, to retry
    assert live_server.run(step_titles(template_id)) == ["Intake", "Engagement letter"]

    page.unroute("**/steps")
    with page.expect_request("**/steps") as sent:
        button.click()
    assert sent.value.headers["idempotency-key"] == keys[0] != ""
    expect(page.get_by_text("This was already done; nothing was changed again.")).to_be_visible()
    expect(page.locator(".step-row")).to_have_count(2)
    assert live_server.run(step_titles(template_id)) == ["Intake", "Engagement letter"]
    # The lost answer is a network error the browser reports, as this test intends.
    console.errors[:] = [
        e for e in console.errors if "ERR_FAILED" not in e and "Failed to fetch" not in e
    ]


def test_start_workflow_starts_one_workflow_when_the_button_is_double_clicked(
    page_as, live_server: LiveServer
) -> None:
    slow_posts(live_server, "/workflows")

    def matter_and_count() -> tuple[int, int]:
        matter = db.session.scalar(select(Matter).where(Matter.reference == "DEMO-001"))
        total = db.session.scalar(
            select(func.count())
            .select_from(WorkflowInstance)
            .where(WorkflowInstance.matter_id == matter.id)
        )
        return matter.id, total

    matter_id, before = live_server.run(matter_and_count)
    page: Page = page_as(LAWYER)
    page.goto(f"{live_server.url}/matters/{matter_id}/workflows")
    page.locator("#start-template").select_option(index=1)
    button = page.get_by_role("button", name="Start workflow")
    button.dblclick()
    expect(button).to_be_disabled()
    page.wait_for_url(f"**/matters/{matter_id}/workflows/*")
    assert live_server.run(matter_and_count) == (matter_id, before + 1)
