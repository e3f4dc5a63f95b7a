"""A long workflow in real Chromium: the runner shows the open work and a few done and
pending steps, "Show all" loads the rest in place, older audit entries load on demand,
and completing a step swaps only what changed — on a desktop and on a phone. The inbox
of a person with many ready steps reads well at both widths."""

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import PHONE, LiveServer, fits_phone
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, Matter, User, WorkflowInstance
from webapp.services.instances import instantiate
from webapp.services.steps import Complete, perform
from webapp.services.templates import create_template, publish_template

ITEMS = ["Read the file", "Sign off"]
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


def _long_workflow(size: int, done: int) -> str:
    lawyer = db.session.scalar(select(User).where(User.role == Role.LAWYER))
    matter = db.session.scalar(select(Matter).where(Matter.reference == "DEMO-001"))
    steps = [
        StepDefinition(
            key=f"review_{n}",
            title=f"Review bundle {n}",
            action_type="CHECKLIST",
            action_config={"items": ITEMS},
            role_scope=Role.LAWYER,
        )
        for n in range(1, size + 1)
    ]
    template = create_template(lawyer, "Document review", steps)
    publish_template(lawyer, template.id)
    instance, _new = instantiate(lawyer, template.id, matter.id, title="Document review")
    chain = db.session.scalars(
        select(InstanceStep.id)
        .where(InstanceStep.instance_id == instance.id)
        .order_by(InstanceStep.order)
    ).all()
    for step_id in chain[:done]:
        perform(lawyer, step_id, Complete({"checkedItems": ITEMS}))
    return f"/matters/{matter.id}/workflows/{instance.id}"


def _paralegal_work(count: int) -> None:
    lawyer = db.session.scalar(select(User).where(User.role == Role.LAWYER))
    matter = db.session.scalar(select(Matter).where(Matter.reference == "DEMO-001"))
    steps = [
        StepDefinition(
            key=f"index_{n}",
            title=f"Index exhibit {n}",
            action_type="CHECKLIST",
            action_config={"items": ITEMS},
            role_scope=Role.PARALEGAL,
            depends_on=[],
        )
        for n in range(1, count + 1)
    ]
    template = create_template(lawyer, "Exhibits", steps)
    publish_template(lawyer, template.id)
    instantiate(lawyer, template.id, matter.id, title="Exhibit index")


def _demo_workflow() -> str:
    instance = db.session.scalar(
        select(WorkflowInstance).where(WorkflowInstance.title == "Onboarding — Acme Corp")
    )
    return f"/matters/{instance.matter_id}/workflows/{instance.id}"


def cards(page: Page, group: str) -> int:
    return page.locator(f"#group-{group} .step-card").count()


def test_long_runner_collapses_and_shows_all_on_demand_when_a_lawyer_works_it(
    live_server: LiveServer, page_as, screenshot
) -> None:
    path = live_server.run(lambda: _long_workflow(60, 30))
    for name, viewport in (("desktop", DESKTOP), ("narrow", NARROW)):
        page = page_as("lawyer@demo.test", viewport=viewport)
        page.goto(live_server.url + path)
        expect(page.locator("#group-completed .group-title .count")).to_have_text("30")
        assert cards(page, "completed") == 5 and cards(page, "pending") == 5
        expect(page.locator("#drift-badge")).to_have_text("In sync")  # fetched once shown
        screenshot(page, f"runner-long-{name}")
        page.get_by_role("link", name="Show all 30").click()
        expect(page.locator("#group-completed .step-card")).to_have_count(30)
        expect(page.locator("#group-completed .group-more")).to_have_count(0)
        page.get_by_role("link", name="Show older entries").click()
        expect(page.locator("#audit-trail .tl-item")).to_have_count(40)
        screenshot(page, f"runner-long-expanded-{name}")


def test_completing_a_step_of_a_long_workflow_moves_it_without_a_reload(
    live_server: LiveServer, page_as, screenshot
) -> None:
    path = live_server.run(lambda: _long_workflow(40, 20))
    page = page_as("lawyer@demo.test", viewport=DESKTOP)
    page.goto(live_server.url + path)
    ready = page.locator("#group-ready .step-card").first
    expect(ready).to_contain_text("Review bundle 21")
    page.evaluate("window.notReloaded = true")
    card = "#" + ready.get_attribute("id")  # the card moves between groups as it is ticked
    page.locator(f"{card} input[type=checkbox]").first.check()
    expect(page.locator(f"#group-in-progress {card}")).to_be_visible()  # the first tick starts it
    page.locator(f"{card} input[type=checkbox]").nth(1).check()
    expect(page.locator("#group-completed .group-title .count")).to_have_text("21")
    expect(page.locator("#group-ready .step-card").first).to_contain_text("Review bundle 22")
    expect(page.locator("#instance-progress")).to_contain_text("21 of 40 steps done")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "runner-long-after-completion")


def test_long_runner_and_inbox_fit_a_phone_when_a_person_opens_them(
    live_server: LiveServer, page_as, screenshot
) -> None:
    path = live_server.run(lambda: _long_workflow(40, 20))
    live_server.run(lambda: _paralegal_work(30))
    lawyer = page_as("lawyer@demo.test", viewport=PHONE)
    lawyer.goto(live_server.url + path)
    assert fits_phone(lawyer)
    paralegal = page_as("paralegal@demo.test", viewport=PHONE)
    paralegal.goto(live_server.url + "/inbox")
    expect(paralegal.locator("#inbox-ready .inbox-item")).to_have_count(31)
    assert fits_phone(paralegal)
    screenshot(paralegal, "inbox-phone")
    wide = page_as("paralegal@demo.test", viewport=DESKTOP)
    wide.goto(live_server.url + "/inbox")
    screenshot(wide, "inbox-desktop")
    small = page_as("lawyer@demo.test", viewport=NARROW)
    small.goto(live_server.url + live_server.run(_demo_workflow))
    expect(small.locator("#drift-badge")).to_have_text("In sync")
    screenshot(small, "runner-small-narrow")
    big = page_as("lawyer@demo.test", viewport=DESKTOP)
    big.goto(small.url)
    expect(big.locator("#drift-badge")).to_have_text("In sync")
    screenshot(big, "runner-small-desktop")
