"""Document templates in Chromium: the lawyer finds the demo's Word letter from the main
navigation, previews it for DEMO-001 in the page, writes an HTML template with a field
no matter provides and sees publishing refused beside the button; every page fits a phone."""

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, fits_phone

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


def test_a_lawyer_previews_the_letter_and_is_told_why_a_template_cannot_be_published(
    page_as, live_server, screenshot
):
    page = page_as("lawyer@demo.test", viewport=WIDE)
    page.get_by_role("link", name="Documents").click()
    expect(page.get_by_role("heading", name="Document templates")).to_be_visible()
    screenshot(page, "document-templates-list-1280")
    page.get_by_role("link", name="Engagement letter").click()
    expect(page.get_by_role("heading", name="Merge fields")).to_be_visible()
    expect(page.locator("#fields table code", has_text="matter.parties[].name")).to_be_visible()

    page.get_by_label("Matter").select_option(label="DEMO-001 — Acme Corp v. Widget Ltd")
    page.get_by_role("button", name="Preview").click()
    frame = page.locator("iframe.pdf-frame")
    expect(frame).to_be_visible()
    preview_url = frame.get_attribute("src")
    answer = page.request.get(f"{live_server.url}{preview_url}")
    assert answer.ok and answer.headers["content-type"] == "application/pdf"
    screenshot(page, "document-template-preview-1280")

    page.goto(f"{live_server.url}/documents/templates")
    page.locator("#html-template-panel summary").click()
    page.get_by_label("Name").last.fill("Closing memo")
    page.locator("#html-body").fill("<h1>{{ matter.title }}</h1><p>{{ matter.judge }}</p>")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("heading", name="Closing memo")).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#publish-panel .field-error")).to_have_text(
        "The template uses fields no matter provides: matter.judge."
    )
    screenshot(page, "document-template-editor-1280")
    memo_url = page.url

    phone = page_as("lawyer@demo.test", viewport=NARROW)
    for url, name in (
        ("/documents/templates", "document-templates-list-390"),
        (memo_url, "document-template-editor-390"),
        (
            f"{live_server.url}{preview_url.split('/preview')[0]}?matter=1&format=pdf",
            "document-template-preview-390",
        ),
    ):
        phone.goto(url if url.startswith("http") else f"{live_server.url}{url}")
        screenshot(phone, name)
    small = page_as("lawyer@demo.test", viewport=PHONE)
    for url in ("/documents/templates", memo_url):
        small.goto(url if url.startswith("http") else f"{live_server.url}{url}")
        assert fits_phone(small), url
