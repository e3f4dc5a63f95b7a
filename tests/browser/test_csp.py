"""The Content-Security-Policy as the browser applies it: inline code is refused and the
refusal fails a test (ConsoleWatch), htmx adds no inline styles, the progress bars draw."""

from collections.abc import Callable

from playwright.sync_api import Browser, Page

from tests.browser.conftest import ConsoleWatch, LiveServer


def test_watch_reports_a_csp_violation_when_a_page_runs_inline_code(
    browser: Browser, live_server: LiveServer
) -> None:
    watch = ConsoleWatch()  # not the fixture: this test expects what fails the others
    context = browser.new_context()
    try:
        page = watch.watch(context.new_page())
        page.goto(f"{live_server.url}/login")
        with page.expect_console_message(lambda message: "CSP violation" in message.text):
            page.evaluate(
                "() => { const s = document.createElement('script');"
                " s.textContent = 'window.ran = true'; document.body.append(s); }"
            )
        assert page.evaluate("() => window.ran === undefined")  # the policy held
        assert watch.csp_violations, watch.errors
        assert any("script-src" in violation for violation in watch.csp_violations)
    finally:
        context.close()


def test_htmx_adds_no_inline_styles_when_a_signed_in_page_loads(
    page_as: Callable[..., Page], live_server: LiveServer, console: ConsoleWatch
) -> None:
    page = page_as("lawyer@demo.test")
    page.goto(f"{live_server.url}/matters")
    page.wait_for_function("() => window.htmx !== undefined")
    assert page.evaluate("() => htmx.config.includeIndicatorCSS") is False
    # No settle step: it copies old style attributes onto swapped-in elements.
    assert page.evaluate("() => htmx.config.defaultSettleDelay") == 0
    assert page.evaluate("() => document.adoptedStyleSheets.length") == 0
    assert console.csp_violations == []
