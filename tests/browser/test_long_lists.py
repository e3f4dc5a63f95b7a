"""Long lists in real Chromium: the builder of a long template shows a window of rows that
the keyboard pages through, a drag within it keeps the rest of the order, and a matter
with many workflows pages them — on a desktop and on a phone."""

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import PHONE, LiveServer, fits_phone
from webapp.engine.definition import StepDefinition
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, TemplateStep, User
from webapp.services.instances import instantiate
from webapp.services.templates import create_template, publish_template
from webapp.web.reads.builder import WINDOW
from webapp.web.reads.matter_workflows import PAGE_SIZE

DESKTOP = {"width": 1280, "height": 900}


def _steps(size: int) -> list[StepDefinition]:
    return [
        StepDefinition(
            key=f"review_{n}",
            title=f"Review bundle {n}",
            action_type="CHECKLIST",
            action_config={"items": ["Read it"]},
            role_scope=Role.LAWYER,
        )
        for n in range(1, size + 1)
    ]


def _lawyer() -> User:
    return db.session.scalar(select(User).where(User.role == Role.LAWYER))


def _long_draft(size: int) -> int:
    return create_template(_lawyer(), "Document review", _steps(size)).id


def _titles(template_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(TemplateStep.title)
            .where(TemplateStep.template_id == template_id)
            .order_by(TemplateStep.order)
        )
    )


def test_builder_pages_a_long_template_by_keyboard_and_keeps_the_order_when_a_row_moves(
    page_as, live_server: LiveServer, screenshot
) -> None:
    template_id = live_server.run(lambda: _long_draft(60))
    page: Page = page_as("lawyer@demo.test", viewport=DESKTOP)
    page.goto(f"{live_server.url}/workflows/templates/{template_id}")
    expect(page.locator("#window-count")).to_have_text(f"Steps 1\u2013{WINDOW} of 60")
    expect(page.locator(".step-row")).to_have_count(WINDOW)
    screenshot(page, "builder-long-desktop")
    later = page.get_by_role("link", name="Later steps").first
    later.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#window-count")).to_have_text(
        f"Steps {WINDOW + 1}\u2013{2 * WINDOW} of 60"
    )
    expect(page.locator(".step-row").first).to_contain_text(str(WINDOW + 1))
    first_title = page.locator(".step-row .row-title").first
    expect(first_title).to_have_value(f"Review bundle {WINDOW + 1}")
    page.locator(
        f"#move-down-{page.locator('.step-row').first.get_attribute('data-step-id')}"
    ).click()
    expect(page.locator(".step-row .row-title").first).to_have_value(f"Review bundle {WINDOW + 2}")
    titles = live_server.run(lambda: _titles(template_id))
    expected = [f"Review bundle {n}" for n in range(1, 61)]
    expected[WINDOW], expected[WINDOW + 1] = expected[WINDOW + 1], expected[WINDOW]
    assert titles == expected
    page.get_by_role("link", name="Show all 60").last.click()
    expect(page.locator(".step-row")).to_have_count(60)


def test_long_builder_and_many_workflows_fit_a_phone(
    page_as, live_server: LiveServer, screenshot
) -> None:
    def setup() -> tuple[int, int]:
        lawyer = _lawyer()
        template = create_template(lawyer, "Quick check", _steps(1))
        publish_template(lawyer, template.id)
        matter = db.session.scalar(select(Matter).where(Matter.reference == "DEMO-001"))
        for n in range(PAGE_SIZE + 3):
            instantiate(lawyer, template.id, matter.id, title=f"Quick check {n}")
        return _long_draft(60), matter.id

    template_id, matter_id = live_server.run(setup)
    page: Page = page_as("lawyer@demo.test", viewport=PHONE)
    page.goto(f"{live_server.url}/workflows/templates/{template_id}")
    expect(page.locator("#window-count")).to_be_visible()
    assert fits_phone(page)
    screenshot(page, "builder-long-phone")
    page.goto(f"{live_server.url}/matters/{matter_id}/workflows")
    expect(page.locator("#workflow-count")).to_contain_text(f"{PAGE_SIZE} shown of")
    assert fits_phone(page)
    screenshot(page, "matter-workflows-paged-phone")
    page.get_by_role("link", name="Next").click()
    expect(page.locator("#workflow-count")).to_contain_text("shown of")
    expect(page.get_by_role("link", name="First page")).to_be_visible()
    desktop: Page = page_as("lawyer@demo.test", viewport=DESKTOP)
    desktop.goto(f"{live_server.url}/matters/{matter_id}/workflows")
    screenshot(desktop, "matter-workflows-paged-desktop")
