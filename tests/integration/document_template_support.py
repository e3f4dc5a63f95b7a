"""Word templates made in the tests with python-docx, as a lawyer would write them in
Word: merge fields, a loop over the parties and a condition."""

import io

from docx import Document

LETTER_PARAGRAPHS = [
    "{{ firm.name }}",
    "Re: {{ matter.title }} ({{ matter.reference }})",
    "{%p for party in matter.parties %}",
    "Party: {{ party.name }} <{{ party.email }}>",
    "{%p endfor %}",
    "{%p if matter.members.paralegals %}",
    "Assisted by {{ matter.members.paralegals[0].name }}.",
    "{%p else %}",
    "No paralegal on this matter.",
    "{%p endif %}",
    "Responsible lawyer: {{ matter.owner.name }}",
    'Retainer: {{ 1250|money("USD") }}, dated {{ today|date }}.',
]


def word_file(paragraphs: list[str] | None = None) -> bytes:
    document = Document()
    for text in paragraphs or LETTER_PARAGRAPHS:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def text_of_docx(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def text_of_pdf(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def upload(api, name: str, data: bytes, key: str | None = None):
    form = {"name": name, "file": (io.BytesIO(data), "letter.docx")}
    if key:
        form["key"] = key
    return api.post("/document-templates", data=form, content_type="multipart/form-data")
