"""Browser tests: a live Matterflow server on loopback and Debian's Chromium driven by
Playwright. Each test gets a fresh SQLite database with the demo firm, so tests never
depend on one another. A test fails when a page logs a console error or throws."""

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, ConsoleMessage, Page
from werkzeug.serving import BaseWSGIServer, make_server

from tests.conftest import TEST_SECRET_KEY
from webapp import create_app
from webapp.extensions import db
from webapp.services.seed import DEMO_PASSWORD, seed_demo

CHROMIUM = "/usr/bin/chromium"
# Without these, headless Chromium keeps calling home and this machine refuses it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 812}
# htmx shows 4xx answers in place (inline validation, 403 pages); the browser still logs
# the status line, which is expected behaviour rather than a page error.
EXPECTED_CONSOLE = ("Failed to load resource: the server responded with a status of 4",)


SMALL_TARGETS = """() => [...document.querySelectorAll(
    'a[href], button, select, input:not([type=hidden]), textarea, summary')]
  .filter(el => el.offsetParent)
  .map(el => ['checkbox', 'radio', 'file'].includes(el.type) && el.closest('label')
    ? el.closest('label') : el)
  .filter(el => el.getBoundingClientRect().height < 40)
  .map(el => el.outerHTML.slice(0, 80))"""


def fits_phone(page: Page) -> bool:
    """No sideways scrolling at 375 px, and every tap target at least 40 px tall."""
    page.wait_for_load_state("load")
    assert page.evaluate(SMALL_TARGETS) == [], page.url
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@dataclass
class LiveServer:
    app: Flask
    url: str
    server: BaseWSGIServer

    def run(self, fn: Callable[[], Any]) -> Any:
        """Call a service or query inside the live app, e.g. to set up or check data."""
        with self.app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()


def build_live_app(tmp: Path) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'browser.db'}",
            "SECRET_KEY": "browser-test-secret",
            "UPLOAD_DIR": str(tmp / "uploads"),
            "WEBHOOK_SECRET": "browser-webhook-secret",
            "MATTERFLOW_SECRET_KEYS": [TEST_SECRET_KEY],
            "EMBEDDED_WORKER": False,
            "NOTIFICATIONS_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade(directory=str(Path(app.root_path).parent / "migrations"))
        seed_demo()
        db.session.remove()
    return app


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    app = build_live_app(tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}", server=server)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


# Every page learns of a Content-Security-Policy violation through this event; Chromium's
# own console line for it is caught too, but the event also names what was blocked.
REPORT_CSP = """document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`
    + ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});"""
CSP_CONSOLE = ("CSP violation:", "Content Security Policy", "Content-Security-Policy")


@dataclass
class ConsoleWatch:
    """Collects console errors, uncaught exceptions and Content-Security-Policy violations
    of every page it watches; any of them fails the test."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        page.add_init_script(REPORT_CSP)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        return page

    def _on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if any(marker in text for marker in CSP_CONSOLE):
            self.errors.append(f"CSP violation: {text}")
        elif message.type == "error" and not text.startswith(EXPECTED_CONSOLE):
            self.errors.append(f"console error: {text}")

    @property
    def csp_violations(self) -> list[str]:
        return [error for error in self.errors if error.startswith("CSP violation")]


@pytest.fixture
def console() -> Iterator[ConsoleWatch]:
    watch = ConsoleWatch()
    yield watch
    assert not watch.errors, "The browser reported errors:\n" + "\n".join(watch.errors)


def sign_in(page: Page, base_url: str, email: str, password: str = DEMO_PASSWORD) -> Page:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


@pytest.fixture
def page_as(
    browser: Browser, live_server: LiveServer, console: ConsoleWatch
) -> Iterator[Callable[..., Page]]:
    """`page_as("lawyer@demo.test")`: a signed-in page in its own browser context, so
    several people can work side by side in one test. `viewport=PHONE` for a phone."""
    contexts = []

    def make(email: str, viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(viewport=viewport or {"width": 1366, "height": 900})
        contexts.append(context)
        page = console.watch(context.new_page())
        page.set_default_timeout(10_000)
        return sign_in(page, live_server.url, email)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(pytestconfig: pytest.Config) -> Callable[[Page, str], Path]:
    """Save a full-page screenshot under the run's output folder (test-results/)."""
    folder = Path(pytestconfig.getoption("output")) / "screenshots"

    def take(page: Page, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        page.wait_for_load_state("load")  # after a click that navigates: styles applied
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def admin_link(page: Page, name: str) -> Any:
    """An area of the firm's administration, in the header's Admin menu (opened first)."""
    page.locator("details.nav-admin > summary").click()
    return page.locator(".nav-admin-menu").get_by_role("link", name=name, exact=True)
