"""Documents from templates: an HTML template to PDF (WeasyPrint), a Word template to DOCX
(docxtpl), and a DOCX to PDF — by LibreOffice when `soffice` is on the PATH (the layout
Word shows), else by mammoth (DOCX → HTML) and WeasyPrint (the text and its structure,
in a plain layout). Every template renders in the Jinja sandbox with strict undefined.

Rendering reads no URL: WeasyPrint's fetcher refuses every resource but inline `data:`
ones, so a template cannot make the server fetch a file or an address."""

import functools
import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from docx.opc.exceptions import PackageNotFoundError
from docxtpl import DocxTemplate
from jinja2 import TemplateSyntaxError
from lxml import etree

from webapp.adapters import storage
from webapp.engine.actions.automated import ActionFailed
from webapp.engine.document_fields import FILTERS
from webapp.engine.templating import TemplatingError, document_budget, document_environment

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CONTENT_TYPES = {"pdf": PDF, "docx": DOCX}
RENDER_SECONDS = 5.0  # the sandbox's wall-clock guard for one document's merge
CONVERT_SECONDS = 120  # LibreOffice's, for one conversion
_ENVIRONMENT = document_environment(FILTERS)
PLAIN_STYLE = (
    "@page { size: A4; margin: 2.2cm 2cm; }"
    "body { font-family: serif; font-size: 11pt; line-height: 1.45; }"
    "table { border-collapse: collapse; } td, th { border: 1px solid #999; padding: 4px; }"
)


class RenderError(Exception):
    """The template cannot be rendered with this data; the message is for people."""


@functools.cache
def _inline_only() -> Any:
    """A fetcher that loads `data:` URLs only (a logo written into the template, the images
    mammoth inlines from a Word file); anything else is refused, and the page renders
    without it. WeasyPrint is imported here, on first use: it takes about a second, which
    every process start (servers, workers, tests) would otherwise pay."""
    from weasyprint.urls import URLFetcher

    class InlineOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.lower().startswith("data:"):
                raise ValueError(f"documents do not load outside resources ({url[:80]})")
            return super().fetch(url, headers)

    return InlineOnly


def check_syntax(source: str) -> None:
    """Raises TemplatingError when the sandbox would refuse the text (a syntax error, or a
    construct documents may not use: `set`, macros, includes)."""
    try:
        _ENVIRONMENT.parse(source)
    except TemplateSyntaxError as error:
        raise TemplatingError(error.message or "syntax error") from None


def render_html(body: str, data: dict[str, Any]) -> str:
    try:
        with document_budget(RENDER_SECONDS):
            return str(_ENVIRONMENT.from_string(body).render(**data))
    except TemplatingError as error:
        raise RenderError(f"The template cannot be rendered: {error}") from None


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=html, url_fetcher=_inline_only()()).write_pdf()
    return pdf


def open_docx(data: bytes) -> DocxTemplate:
    """Refuses, in plain words, bytes that are not a Word document."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise RenderError("The file is not a Word document (.docx).")
    try:
        template = DocxTemplate(io.BytesIO(data))
        template.init_docx()  # opens the package: a ZIP that is not Word fails here
        return template
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile):
        raise RenderError("The file is not a Word document (.docx).") from None


def docx_source(data: bytes) -> str:
    """The Jinja text docxtpl makes of a Word template (body, headers and footers), with
    its own tags (`{%p`, `{%tr`, …) turned into plain Jinja: what the fields are read from.
    docxtpl's `get_undeclared_template_variables` walks the same text but answers only the
    top-level names (`matter`), not the fields (`matter.owner.name`)."""
    template = open_docx(data)
    template.init_docx()
    document = template.docx
    parts = [template.patch_xml(template.xml_to_string(document._element.body))]
    for relation in document._part.rels.values():
        if relation.reltype in (template.HEADER_URI, template.FOOTER_URI):
            blob = relation.target_part.blob
            if blob:
                parts.append(template.patch_xml(blob.decode("utf-8", "replace")))
    return "\n".join(parts)


def render_docx(data: bytes, context: dict[str, Any]) -> bytes:
    template = open_docx(data)
    try:
        with document_budget(RENDER_SECONDS):
            template.render(context, jinja_env=_ENVIRONMENT, autoescape=True)
    except TemplatingError as error:
        raise RenderError(f"The template cannot be rendered: {error}") from None
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def converter() -> str | None:
    """LibreOffice's command when installed: the faithful DOCX → PDF conversion."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_to_pdf(data: bytes) -> bytes:
    command = converter()
    return _by_libreoffice(command, data) if command else _by_mammoth(data)


def _by_libreoffice(command: str, data: bytes) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "document.docx"
        source.write_bytes(data)
        # A profile of its own: two conversions at once would share (and lock) the default.
        profile = f"-env:UserInstallation=file://{folder}/profile"
        run = [command, profile, "--headless", "--convert-to", "pdf", "--outdir", folder]
        try:
            subprocess.run(
                [*run, str(source)], check=True, capture_output=True, timeout=CONVERT_SECONDS
            )
        except (subprocess.SubprocessError, OSError) as error:
            raise RenderError(f"LibreOffice could not convert the document: {error}") from None
        return (Path(folder) / "document.pdf").read_bytes()


def _by_mammoth(data: bytes) -> bytes:
    import mammoth  # on first use, as WeasyPrint is

    converted = mammoth.convert_to_html(io.BytesIO(_used_styles_only(data)))
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{PLAIN_STYLE}</style>'
        f"</head><body>{converted.value}</body></html>"
    )
    return html_to_pdf(page)


_WORD = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_STYLE_REFERENCE = re.compile(
    rb'<w:(?:pStyle|rStyle|tblStyle|numStyleLink|styleLink) w:val="([^"]+)"'
)


def _used_styles_only(data: bytes) -> bytes:
    """The document with only the styles its text names (and the defaults): mammoth maps
    styles by name, and reading every style a Word file carries (hundreds, 350 KB in the
    demo letter) with Python's minidom took 0.9 s of a 1.4 s conversion; the HTML is the
    same without them."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = source.namelist()
    if "word/styles.xml" not in names:
        return data
    used: set[bytes] = set()
    for name in names:
        if name.startswith("word/") and name.endswith(".xml") and name != "word/styles.xml":
            used.update(_STYLE_REFERENCE.findall(source.read(name)))
    styles = etree.fromstring(source.read("word/styles.xml"))
    for element in list(styles):
        kind = etree.QName(element).localname
        style_id = (element.get(f"{{{_WORD}}}styleId") or "").encode()
        is_default = element.get(f"{{{_WORD}}}default") in ("1", "true")
        if kind == "latentStyles" or (kind == "style" and style_id not in used and not is_default):
            styles.remove(element)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as lean:
        for item in source.infolist():
            if item.filename == "word/styles.xml":
                lean.writestr(item, etree.tostring(styles, xml_declaration=True, encoding="UTF-8"))
            else:
                lean.writestr(item, source.read(item.filename))
    return out.getvalue()


def render_document(
    template_format: str, source: str | bytes, output: str, data: dict[str, Any]
) -> bytes:
    """A template (`html` body text or `docx` bytes) merged with `data`, as `output`
    (`pdf` or `docx`)."""
    if template_format == "html":
        if output != "pdf":
            raise RenderError("An HTML template renders to PDF only.")
        return html_to_pdf(render_html(str(source), data))
    if not isinstance(source, bytes):
        raise RenderError("The Word template's file is missing.")
    filled = render_docx(source, data)
    return filled if output == "docx" else docx_to_pdf(filled)


def render_to_storage(request: dict[str, Any]) -> dict[str, Any]:
    """The executor (after the commit): render, and store the bytes by their sha256."""
    try:
        data = render_document(
            request["templateFormat"], request["source"], request["format"], request["data"]
        )
    except RenderError as error:
        raise ActionFailed(str(error)) from None
    digest, path = storage.store(data)
    return {
        "name": request["name"],
        "sha256": digest,
        "size": len(data),
        "contentType": CONTENT_TYPES[request["format"]],
        "storagePath": path,
        "shareWithClient": bool(request.get("shareWithClient")),
        "templateKey": request["templateKey"],
        "templateVersion": request["templateVersion"],
    }
