"""The rendering adapter without the app: Word templates filled in the sandbox, and the
pure-Python Word → PDF path, which reads only the styles a document names."""

import base64
import io
import zipfile
from datetime import date

import mammoth
import pytest
from docx import Document

from webapp.adapters import rendering
from webapp.services.seed import LETTER_FILE

DATA = {
    "firm": {"name": "Hale & Partners"},
    "matter": {
        "reference": "HP-1",
        "title": "Smith <& Sons>",
        "status": "OPEN",
        "owner": {"name": "Lena Lawyer", "email": "lena@hale.test"},
        "members": {"lawyers": [], "paralegals": [], "clients": []},
        "parties": [{"name": "Ada", "email": "ada@x.test"}, {"name": "Bo", "email": "bo@x.test"}],
    },
    "instance": {"title": "", "context": {}, "parameters": {}},
    "steps": {},
    "today": date(2026, 12, 7),
}


def styles_of(data: bytes) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read("word/styles.xml")


def html_of(data: bytes) -> str:
    return mammoth.convert_to_html(io.BytesIO(data)).value


def test_the_lean_copy_converts_to_the_same_html_as_the_whole_document():
    filled = rendering.render_docx(LETTER_FILE.read_bytes(), DATA)
    lean = rendering._used_styles_only(filled)
    assert len(styles_of(lean)) < len(styles_of(filled)) / 10
    assert html_of(lean) == html_of(filled)
    assert "Smith &lt;&amp; Sons&gt;" in html_of(lean)


def test_a_heading_and_a_list_keep_their_structure_in_the_lean_copy():
    document = Document()
    document.add_heading("{{ matter.title }}", level=1)
    document.add_paragraph("{{ firm.name }}", style="List Bullet")
    out = io.BytesIO()
    document.save(out)
    filled = rendering.render_docx(out.getvalue(), DATA)
    html = html_of(rendering._used_styles_only(filled))
    assert html == html_of(filled)
    assert "<h1>Smith &lt;&amp; Sons&gt;</h1>" in html and "<li>Hale &amp; Partners</li>" in html


def test_a_value_the_data_lacks_stops_the_render_and_names_it():
    with pytest.raises(rendering.RenderError, match="nonexistent"):
        rendering.render_html("<p>{{ matter.nonexistent }}</p>", DATA)


def test_a_template_cannot_reach_python_internals():
    with pytest.raises(rendering.RenderError, match=r"not allowed|unsafe"):
        rendering.render_html("{{ matter.title.__class__.__mro__ }}", DATA)


def test_html_is_laid_out_without_fetching_anything_but_inline_images(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    inline = "data:image/png;base64," + base64.b64encode(PNG).decode()
    outside = rendering.html_to_pdf(
        f'<img src="file://{secret}"><img src="http://127.0.0.1:9/x.png"><p>Hello</p>'
    )
    assert outside.startswith(b"%PDF") and b"/Subtype /Image" not in outside
    logo = rendering.html_to_pdf(f'<img src="{inline}"><p>Hello</p>')
    assert b"/Subtype /Image" in logo


# A PNG of one pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_a_zip_that_is_not_word_is_refused_in_plain_words() -> None:
    """Found by the API fuzz: a ZIP without Word's parts was a 500."""
    import io
    import zipfile

    import pytest

    from webapp.adapters.rendering import RenderError, docx_source

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("notes.txt", "not a Word document")
    with pytest.raises(RenderError, match="not a Word document"):
        docx_source(archive.getvalue())
