"""The document-template pages: the list, a new template (HTML written, or a Word file
uploaded), the fields with unknown ones flagged, publishing refused inline, and the
preview against a matter (a PDF the page frames, a DOCX to download)."""

import hashlib
import io
import re
from http import HTTPStatus

import pytest
from sqlalchemy import select

from tests.integration.document_template_support import text_of_docx, text_of_pdf, word_file
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import DocumentTemplate


@pytest.fixture
def lawyer_web(demo, login_as):
    return login_as(demo.user(Role.LAWYER))


def create_html(web, name: str, body: str):
    return web.post("/documents/templates", data={"name": name, "format": "html", "body": body})


def test_the_list_shows_the_demo_letter_and_both_ways_to_start_one(lawyer_web):
    page = lawyer_web.get("/documents/templates")
    assert page.status_code == HTTPStatus.OK
    html = page.get_data(as_text=True)
    assert "Engagement letter" in html and "Upload a Word template" in html
    assert "Write an HTML template" in html
    assert 'aria-current="page">Documents</a>' in html


def test_a_written_html_template_opens_on_its_page_with_its_fields_when_created(lawyer_web):
    created = create_html(lawyer_web, "Closing memo", "<p>{{ matter.title }} {{ matter.nope }}</p>")
    assert created.status_code == HTTPStatus.SEE_OTHER
    template = db.session.scalar(
        select(DocumentTemplate).where(DocumentTemplate.name == "Closing memo")
    )
    assert created.headers["Location"].endswith(f"/documents/templates/{template.id}")
    page = lawyer_web.get(f"/documents/templates/{template.id}").get_data(as_text=True)
    assert "<code>matter.title</code>" in page and "<code>matter.nope</code>" in page
    assert "1 field no matter provides" in page
    assert re.search(r'class="field-unknown">\s*<td data-label="Field"><code>matter.nope', page)


def test_publishing_with_an_unknown_field_is_refused_inline_and_changes_nothing(lawyer_web):
    create_html(lawyer_web, "Memo", "<p>{{ matter.nonexistent }}</p>")
    template = db.session.scalar(select(DocumentTemplate).where(DocumentTemplate.name == "Memo"))
    url = f"/documents/templates/{template.id}/publish"
    fragment = lawyer_web.post(url, htmx=True)
    assert fragment.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    text = fragment.get_data(as_text=True)
    assert 'id="publish-panel"' in text and "<html" not in text
    assert "The template uses fields no matter provides: matter.nonexistent." in text
    page = lawyer_web.post(url)
    assert page.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "matter.nonexistent" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(DocumentTemplate, template.id).status == "DRAFT"


def test_an_invalid_template_is_refused_with_the_message_beside_the_form(lawyer_web):
    refused = create_html(lawyer_web, "Broken", "<p>{{ matter.title </p>")
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "The template cannot be read" in refused.get_data(as_text=True)
    assert (
        db.session.scalar(select(DocumentTemplate).where(DocumentTemplate.name == "Broken")) is None
    )


def test_a_word_template_uploaded_previews_as_a_framed_pdf_and_a_docx_download(demo, lawyer_web):
    uploaded = lawyer_web.post(
        "/documents/templates",
        data={"name": "Letter", "format": "docx", "file": (io.BytesIO(word_file()), "letter.docx")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == HTTPStatus.SEE_OTHER, uploaded.get_data(as_text=True)[:400]
    template = db.session.scalar(select(DocumentTemplate).where(DocumentTemplate.name == "Letter"))
    matter = demo.matter.id
    page = lawyer_web.get(f"/documents/templates/{template.id}?matter={matter}&format=pdf")
    html = page.get_data(as_text=True)
    frame = f"/documents/templates/{template.id}/preview?matter={matter}&amp;format=pdf"
    assert f'<iframe class="pdf-frame" src="{frame}"' in html

    pdf = lawyer_web.get(frame.replace("&amp;", "&"))
    assert pdf.status_code == HTTPStatus.OK and pdf.mimetype == "application/pdf"
    assert pdf.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in pdf.headers["Content-Security-Policy"]
    assert "Acme Corp v. Widget Ltd (DEMO-001)" in text_of_pdf(pdf.data)

    docx = lawyer_web.get(f"/documents/templates/{template.id}/preview?matter={matter}&format=docx")
    assert docx.status_code == HTTPStatus.OK
    assert "attachment" in docx.headers["Content-Disposition"]
    assert "Party: Casey Client <client@demo.test>" in text_of_docx(docx.data)

    original = lawyer_web.get(f"/documents/templates/{template.id}/file")
    assert hashlib.sha256(original.data).hexdigest() == template.sha256


def test_a_preview_for_a_matter_one_may_not_see_reads_as_not_found(demo, lawyer_web, second_firm):
    template = db.session.scalar(select(DocumentTemplate))
    url = f"/documents/templates/{template.id}/preview?matter={second_firm['matter'].id}"
    refused = lawyer_web.get(url)
    assert refused.status_code == HTTPStatus.NOT_FOUND
    assert "was not found" in refused.get_data(as_text=True)


def test_clients_and_paralegals_are_refused_the_pages(demo, login_as):
    for role in (Role.CLIENT, Role.PARALEGAL):
        web = login_as(demo.user(role))
        assert web.get("/documents/templates").status_code == HTTPStatus.FORBIDDEN
        refused = create_html(web, "Mine", "<p>x</p>")
        assert refused.status_code == HTTPStatus.FORBIDDEN
        home = web.get("/inbox").get_data(as_text=True)
        assert "/documents/templates" not in home


def test_a_published_template_is_edited_as_a_new_version_when_asked(demo, lawyer_web):
    letter = db.session.scalar(
        select(DocumentTemplate).where(DocumentTemplate.key == "engagement_letter")
    )
    moved = lawyer_web.post(f"/documents/templates/{letter.id}/new-version")
    assert moved.status_code == HTTPStatus.SEE_OTHER
    draft = db.session.scalar(
        select(DocumentTemplate).where(
            DocumentTemplate.key == "engagement_letter", DocumentTemplate.version == 2
        )
    )
    assert draft.status == "DRAFT" and moved.headers["Location"].endswith(f"/{draft.id}")
    db.session.expire_all()
    assert db.session.get(DocumentTemplate, letter.id).status == "PUBLISHED"
