"""A file's kind is read from its bytes: the name and the declared type change nothing."""

import io
import zipfile
from pathlib import Path

import pytest

from webapp.adapters.filetypes import DOCX, JPEG, PDF, PNG, TXT, XLSX, refusal, sniff

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def sniffed(tmp_path: Path, data: bytes):
    path = tmp_path / "upload"
    path.write_bytes(data)
    return sniff(path, data[:65536])


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", PDF),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32, JPEG),
        (zipped("[Content_Types].xml", "word/document.xml"), DOCX),
        (zipped("[Content_Types].xml", "xl/workbook.xml"), XLSX),
        ("Dear client,\nhere are the figures — €1,500.\n".encode(), TXT),
    ],
    ids=["pdf", "png", "jpeg", "docx", "xlsx", "txt"],
)
def test_sniff_finds_the_kind_from_the_bytes_when_it_is_one_the_firm_files(
    tmp_path: Path, data: bytes, kind: object
) -> None:
    assert sniffed(tmp_path, data).kind is kind


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("x.pdf", EXE, "x.pdf is not a PDF: its content is a Windows program."),
        (
            "x.docx",
            zipped("evil.js"),
            "x.docx is not a Word document: its content is a ZIP archive.",
        ),
        ("scan.png", b"%PDF-1.4\n", "scan.png is not a PNG image: its content is a PDF."),
        ("notes.txt", b"<html><script>alert(1)</script>", "notes.txt is not plain text"),
        ("tool", b"\x7fELF" + b"\x00" * 40, "tool: its content is a Linux program, which cannot"),
    ],
    ids=["exe-as-pdf", "zip-as-docx", "pdf-as-png", "html-as-txt", "elf-no-name"],
)
def test_refusal_says_what_the_content_is_when_it_does_not_match_an_accepted_kind(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    problem = refusal(name, sniffed(tmp_path, data))
    assert problem is not None
    assert message in problem


def test_refusal_is_none_when_the_name_claims_no_kind_and_the_content_is_accepted(
    tmp_path: Path,
) -> None:
    assert refusal("scan-without-extension", sniffed(tmp_path, b"%PDF-1.4\n")) is None
    assert refusal("figures.csv", sniffed(tmp_path, b"a,b\n1,2\n")) is None


def test_refusal_lets_a_kind_a_request_names_through_unless_it_is_harmful(
    tmp_path: Path,
) -> None:
    gif = sniffed(tmp_path, b"GIF89a" + b"\x00" * 40)
    assert refusal("photo.gif", gif) is not None  # not a kind the firm files by default
    assert refusal("photo.gif", gif, also=(".gif",)) is None
    assert gif.mime == "image/gif"
    exe = sniffed(tmp_path, EXE)
    assert refusal("tool.exe", exe, also=(".exe",)) is not None
