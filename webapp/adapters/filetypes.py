"""What a file is, read from its bytes (puremagic), never from the name or the type the
sender declared. A Word document and an Excel workbook are both ZIP archives: their
inside (the part each format must have) tells them apart."""

import zipfile
from dataclasses import dataclass
from pathlib import Path

import puremagic


@dataclass(frozen=True)
class FileType:
    key: str
    noun: str  # "a PDF": how a sentence names the kind
    mime: str
    extensions: tuple[str, ...]


PDF = FileType("pdf", "a PDF", "application/pdf", (".pdf",))
DOCX = FileType(
    "docx",
    "a Word document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
)
DOC = FileType("doc", "an older Word document (.doc)", "application/msword", (".doc",))
XLSX = FileType(
    "xlsx",
    "an Excel workbook",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    (".xlsx",),
)
PNG = FileType("png", "a PNG image", "image/png", (".png",))
JPEG = FileType("jpeg", "a JPEG image", "image/jpeg", (".jpg", ".jpeg", ".jfif"))
TXT = FileType("txt", "plain text", "text/plain", (".txt", ".text", ".csv", ".md"))

# The kinds a firm files: anything else is refused whatever its name says.
ACCEPTED = (PDF, DOCX, DOC, XLSX, PNG, JPEG, TXT)
BY_EXTENSION = {extension: kind for kind in ACCEPTED for extension in kind.extensions}

# How a sentence names content people must not be sent as a document; puremagic's own
# names are used for the rest.
DANGEROUS = {
    ".exe": "a Windows program",
    ".dll": "a Windows program",
    ".com": "a Windows program",
    ".msi": "a Windows installer",
    ".elf": "a Linux program",
    ".sh": "a shell script",
    ".html": "a web page (HTML)",
    ".htm": "a web page (HTML)",
    ".svg": "an SVG drawing (it can hold scripts)",
    ".js": "a script",
}
SIGNATURES = (
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"#!", "a script"),
)
MARKUP = (b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml")


@dataclass(frozen=True)
class Sniffed:
    """The kind the bytes are (None: not one the firm files) and how to name them."""

    kind: FileType | None
    description: str
    extensions: tuple[str, ...] = ()
    harmful: bool = False  # a program, a script or markup a browser runs: never filed
    mime: str = "application/octet-stream"


def sniff(path: Path, head: bytes) -> Sniffed:
    """`head`: the file's first bytes (the store read them while copying)."""
    if not head:
        return Sniffed(None, "empty")
    for magic, description in SIGNATURES:
        if head.startswith(magic):
            return Sniffed(None, description, harmful=True)
    if head.startswith(b"PK\x03\x04"):
        return _office_or_zip(path)
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        matches = []
    for match in matches:
        extension = match.extension.lower()
        if extension in DANGEROUS:
            return Sniffed(None, DANGEROUS[extension], (extension,), harmful=True)
        if extension == ".fdf":
            continue
        kind = BY_EXTENSION.get(extension)
        if kind is not None and kind is not TXT:
            return Sniffed(kind, kind.noun, kind.extensions)
    if _is_text(head):
        return Sniffed(TXT, TXT.noun, TXT.extensions)
    if matches:
        first = matches[0]
        name = first.name.split("|")[0].strip() or "an unknown kind of data"
        return Sniffed(
            None,
            f"a file of another kind ({name})",
            tuple(m.extension.lower() for m in matches if m.extension),
            mime=first.mime_type or "application/octet-stream",
        )
    return Sniffed(None, "data of an unknown kind")


def _office_or_zip(path: Path) -> Sniffed:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return Sniffed(None, "a damaged ZIP archive", (".zip",))
    if "word/document.xml" in names:
        return Sniffed(DOCX, DOCX.noun, DOCX.extensions)
    if "xl/workbook.xml" in names:
        return Sniffed(XLSX, XLSX.noun, XLSX.extensions)
    return Sniffed(None, "a ZIP archive", (".zip",))


def _is_text(head: bytes) -> bool:
    """UTF-8 without control characters other than layout, and no markup a browser runs."""
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not only a character cut at the chunk's end
            return False
        text = head[: error.start].decode("utf-8")
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        return False
    return not text.lstrip().lower().encode().startswith(MARKUP)


def claimed_kind(filename: str) -> FileType | None:
    """The kind the file's name claims, when it names one the firm files."""
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return BY_EXTENSION.get(extension)


def refusal(filename: str, sniffed: Sniffed, also: tuple[str, ...] = ()) -> str | None:
    """Why the file is refused, in plain words, or None: its content is a kind the firm
    files (or, `also`, one of these extensions a document request names, unless it is
    harmful), and its name does not claim another kind."""
    claimed = claimed_kind(filename)
    if sniffed.kind is None and not sniffed.harmful and set(also) & set(sniffed.extensions):
        return None
    if sniffed.kind is None:
        if claimed is not None:
            return f"{filename} is not {claimed.noun}: its content is {sniffed.description}."
        accepted = ", ".join(kind.key.upper() for kind in ACCEPTED)
        return (
            f"{filename}: its content is {sniffed.description}, which cannot be filed "
            f"(accepted: {accepted})."
        )
    if claimed is not None and claimed is not sniffed.kind:
        return f"{filename} is not {claimed.noun}: its content is {sniffed.description}."
    return None
