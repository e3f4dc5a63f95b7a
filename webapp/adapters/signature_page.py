"""The sandbox's signature page: the signed copy is the original PDF, untouched, with one
page added at the end saying who signed, when, and the sha256 of the original — so anyone
holding the copy can check it against the document they were sent."""

import io
from dataclasses import dataclass
from html import escape

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from webapp.engine.errors import Unprocessable

PAGE_CSS = """
@page { size: A4; margin: 22mm 20mm; }
body { font-family: sans-serif; color: #1d2733; font-size: 11pt; }
h1 { font-size: 18pt; margin: 0 0 4mm; }
.note { color: #7a4b00; border: 1px solid #d9a441; padding: 3mm; margin-bottom: 8mm; }
dt { font-weight: bold; margin-top: 4mm; }
dd { margin: 1mm 0 0; }
.hash { font-family: monospace; font-size: 8.5pt; }
"""


@dataclass(frozen=True)
class Signer:
    name: str
    email: str
    signed_at: str  # ISO 8601, as the provider reported it
    original_sha256: str
    document_name: str


def signature_page_html(signer: Signer, reference: str) -> str:
    rows = [
        ("Document", signer.document_name),
        ("Signed by", f"{signer.name} <{signer.email}>" if signer.email else signer.name),
        ("Signed at (UTC)", signer.signed_at),
        ("Session", reference),
    ]
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return (
        f"<html><head><style>{PAGE_CSS}</style></head><body>"
        "<h1>Signature page</h1>"
        '<p class="note">Signed in the Matterflow sandbox: a test signature, not a legal one.</p>'
        f"<dl>{facts}<dt>SHA-256 of the document signed</dt>"
        f'<dd class="hash">{escape(signer.original_sha256)}</dd></dl>'
        "</body></html>"
    )


def stamp(original: bytes, signer: Signer, reference: str) -> bytes:
    """The original's pages and the signature page, as one PDF."""
    from weasyprint import HTML  # loaded on first use: it takes a second to import

    try:
        reader = PdfReader(io.BytesIO(original))
        pages = list(reader.pages)
    except (PdfReadError, ValueError, OSError) as error:
        raise Unprocessable(f"The document could not be read as a PDF: {error}") from None
    page = HTML(string=signature_page_html(signer, reference)).write_pdf()
    writer = PdfWriter()
    for original_page in pages:
        writer.add_page(original_page)
    for added in PdfReader(io.BytesIO(page)).pages:
        writer.add_page(added)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
