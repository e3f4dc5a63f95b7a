"""axe-core on every main page, as each role sees it: no serious or critical violation
(WCAG 2 A and AA rules, colour contrast among them). axe is served from static/vendor like
htmx, so the Content-Security-Policy lets it run."""

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from tests.browser.conftest import LiveServer
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, User, WorkflowInstance, WorkflowTemplate
from webapp.services.seed import ONBOARDING_STEPS
from webapp.services.templates import create_template

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
SERIOUS = ("serious", "critical")
EMAILS = {
    Role.ADMIN: "admin@demo.test",
    Role.LAWYER: "lawyer@demo.test",
    Role.PARALEGAL: "paralegal@demo.test",
    Role.CLIENT: "client@demo.test",
}


def serious_violations(page: Page, base_url: str) -> list[str]:
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=f"{base_url}/static/vendor/axe.min.js")
    results: dict[str, Any] = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [
        f"{page.url} [{v['impact']}] {v['id']}: {v['help']} — "
        + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in SERIOUS
    ]


def main_pages(live_server: LiveServer, role: str) -> list[str]:
    """The pages a person of `role` works in: the same list for everyone, so a page that
    refuses a role is checked as that role sees the refusal."""

    def ids() -> tuple[int, int, int]:
        matter = db.session.scalar(select(Matter).where(Matter.reference == "DEMO-001"))
        instance = db.session.scalar(select(WorkflowInstance).order_by(WorkflowInstance.id))
        lawyer = db.session.scalar(select(User).where(User.role == Role.LAWYER))
        draft = (
            db.session.scalar(select(WorkflowTemplate.id).where(WorkflowTemplate.status == "DRAFT"))
            or create_template(lawyer, "Accessible draft", ONBOARDING_STEPS).id
        )
        db.session.commit()
        return matter.id, instance.id, draft

    matter_id, instance_id, draft_id = live_server.run(ids)
    pages = [
        "/inbox",
        "/matters",
        f"/matters/{matter_id}/workflows",
        f"/matters/{matter_id}/workflows/{instance_id}",
        "/workflows/templates",
        f"/workflows/templates/{draft_id}",
        "/notifications",
        "/account/notifications",
        "/documents/templates",
        "/documents/templates/1",  # the demo's Word engagement letter
    ]
    if role == Role.ADMIN:
        pages.append("/admin/jobs")
    return pages


def test_login_page_has_no_serious_accessibility_violation_when_checked_by_axe(
    page: Page, live_server: LiveServer, console
) -> None:
    console.watch(page)
    page.goto(f"{live_server.url}/login")
    assert serious_violations(page, live_server.url) == []


@pytest.mark.parametrize("role", [Role.ADMIN, Role.LAWYER, Role.PARALEGAL, Role.CLIENT])
def test_main_pages_have_no_serious_accessibility_violation_when_each_role_opens_them(
    page_as: Callable[..., Page], live_server: LiveServer, role: str
) -> None:
    page = page_as(EMAILS[role])
    found: list[str] = []
    for path in main_pages(live_server, role):
        page.goto(f"{live_server.url}{path}")
        found += serious_violations(page, live_server.url)
    assert found == [], "\n".join(found)


def test_axe_finds_a_contrast_failure_when_text_is_too_faint(
    page_as: Callable[..., Page], live_server: LiveServer
) -> None:
    """The check can fail: pale grey text on the page's background is reported."""
    page = page_as(EMAILS[Role.LAWYER])
    page.goto(f"{live_server.url}/inbox")
    page.evaluate(
        "() => { const p = document.createElement('p'); p.textContent = 'Too faint';"
        " p.className = 'probe'; p.setAttribute('hidden', ''); document.querySelector('main')"
        ".append(p); p.removeAttribute('hidden'); p.style.color = '#c8cdd4'; }"
    )
    assert any("color-contrast" in v for v in serious_violations(page, live_server.url))
