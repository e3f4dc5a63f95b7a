"""Files on disk, stored by content: the name is the sha256 of the bytes, written to a
temporary file and renamed, so a half-written file is never seen."""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage, MultiDict


@dataclass(frozen=True)
class IncomingFile:
    """A file as a person sent it: the name and type are theirs, not checked."""

    filename: str
    content_type: str
    data: bytes


def incoming_files(files: MultiDict[str, FileStorage]) -> list[IncomingFile]:
    """The `file` parts of a multipart request, as the page and the API both receive them."""
    return [
        IncomingFile(f.filename or "upload", f.mimetype or "", f.read())
        for f in files.getlist("file")
        if f.filename
    ]


def safe_name(filename: str) -> str:
    name = os.path.basename(filename.replace("\\", "/")).strip() or "upload"
    return "".join(c for c in name if c.isprintable())[:255]


def root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def store(data: bytes) -> tuple[str, str]:
    """Returns the digest and the path relative to the storage root."""
    digest = hashlib.sha256(data).hexdigest()
    folder = root() / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if not path.exists():
        temporary = path.with_suffix(".part")
        temporary.write_bytes(data)
        temporary.replace(path)
    return digest, str(path.relative_to(root()))
