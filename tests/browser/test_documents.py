"""Real documents in the browser: the client reads and signs the engagement letter in the
sandbox from a phone; the signed copy is the document's version 2, with a signature page
naming the signer and the original's sha256. The Documents tab at laptop and phone width."""

import io
import re

from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import select

from tests.browser.conftest import LiveServer
from tests.browser.test_runner import finish_until_signature, runner_path
from webapp.adapters import storage
from webapp.extensions import db
from webapp.models import Document, InstanceStep, Matter, WorkflowEvent

PHONE_390 = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


def fits(page: Page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


def signed_copy() -> tuple[Document, Document, bytes, dict]:
    step = db.session.scalar(select(InstanceStep).where(InstanceStep.key == "engagement_letter"))
    copy = db.session.get(Document, step.action_data["documentId"])
    original = db.session.get(Document, copy.lineage_id)
    with storage.backend().open(copy.storage_path) as stream:
        data = stream.read()
    audit = db.session.scalar(
        select(WorkflowEvent).where(
            WorkflowEvent.step_id == step.id, WorkflowEvent.event_type == "step.complete"
        )
    )
    return original, copy, data, audit.payload


def test_client_reads_and_signs_the_letter_from_a_phone_when_the_signature_is_ready(
    page_as, live_server: LiveServer, screenshot
) -> None:
    live_server.run(finish_until_signature)
    path = live_server.run(runner_path)
    phone = page_as("client@demo.test", viewport=PHONE_390)
    phone.goto(live_server.url + path)
    phone.get_by_role("button", name="Review and sign").click()
    expect(phone).to_have_url(re.compile(r"/sandbox/esign/sbx_sig_"))
    frame = phone.locator("iframe.signing-frame")
    expect(frame).to_have_attribute("src", re.compile(r"/documents/\d+\?inline=1"))
    expect(phone.get_by_role("link", name="Download")).to_be_visible()
    expect(phone.get_by_text("Engagement letter.pdf")).to_be_visible()
    assert fits(phone, PHONE_390["width"])
    screenshot(phone, "sandbox-esign-document-phone")
    laptop = page_as("client@demo.test", viewport=LAPTOP)
    laptop.goto(phone.url)
    screenshot(laptop, "sandbox-esign-document-laptop")

    phone.get_by_role("button", name="Sign document (sandbox)").click()
    expect(phone.get_by_text("Signed in the sandbox. The step is complete.")).to_be_visible()

    original, copy, data, audited = live_server.run(signed_copy)
    assert (copy.version, copy.source, copy.lineage_id) == (2, "signature", original.id)
    last_page = PdfReader(io.BytesIO(data)).pages[-1].extract_text()
    assert "Casey Client" in last_page and original.sha256 in last_page
    assert audited["signedDocument"]["originalSha256"] == original.sha256
    assert audited["signedDocument"]["sha256"] == copy.sha256

    phone.goto(live_server.url + live_server.run(matter_path))
    listed = phone.locator(".documents-table")
    expect(listed).to_contain_text("Engagement letter (signed).pdf")
    expect(listed).to_contain_text("1 earlier version")
    assert fits(phone, PHONE_390["width"])
    screenshot(phone, "documents-tab-signed-client-phone")
    lawyer = page_as("lawyer@demo.test", viewport=LAPTOP)
    lawyer.goto(phone.url)
    lawyer.get_by_text("1 earlier version").click()
    expect(lawyer.locator(".version-list")).to_contain_text("v1 · Engagement letter.pdf")
    screenshot(lawyer, "documents-tab-signed-laptop")


def matter_path() -> str:
    matter = db.session.scalar(select(Matter).where(Matter.reference == "DEMO-001"))
    return f"/matters/{matter.id}/documents"


def test_documents_tab_lists_uploads_and_shares_when_a_lawyer_and_the_client_use_it(
    page_as, live_server: LiveServer, screenshot, tmp_path
) -> None:
    path = live_server.run(matter_path)
    lawyer = page_as("lawyer@demo.test", viewport=LAPTOP)
    lawyer.goto(live_server.url + path)
    memo = tmp_path / "strategy-memo.txt"
    memo.write_text("Our strategy, for the team only.\n")
    lawyer.get_by_label("Files").set_input_files(str(memo))
    lawyer.get_by_role("button", name="Upload").click()
    expect(lawyer.get_by_text("Filed on the matter: strategy-memo.txt.")).to_be_visible()
    expect(lawyer.locator(".documents-table")).to_contain_text("strategy-memo.txt")
    expect(lawyer.locator(".documents-table")).to_contain_text("Engagement letter.pdf")
    assert fits(lawyer, LAPTOP["width"])
    screenshot(lawyer, "documents-tab-laptop")

    phone = page_as("lawyer@demo.test", viewport=PHONE_390)
    phone.goto(live_server.url + path)
    assert fits(phone, PHONE_390["width"])
    screenshot(phone, "documents-tab-phone")

    client = page_as("client@demo.test", viewport=PHONE_390)
    client.goto(live_server.url + path)
    expect(client.locator(".documents-table")).to_contain_text("Engagement letter.pdf")
    expect(client.locator(".documents-table")).not_to_contain_text("strategy-memo.txt")
    screenshot(client, "documents-tab-client-phone")

    row = lawyer.locator("tr", has_text="strategy-memo.txt")
    row.get_by_role("button", name="Share with client").click()
    expect(lawyer.get_by_text("strategy-memo.txt is shared with the client")).to_be_visible()
    client.reload()
    expect(client.locator(".documents-table")).to_contain_text("strategy-memo.txt")
