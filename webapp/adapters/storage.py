"""Where documents' bytes live, behind a small interface: `put` a stream and get back its
key, sha256 and size; `open`, `delete`, `exists` by key. Storage is by content (the key
is made from the sha256), so two documents with the same bytes share one stored file.

The local-folder store (STORAGE_BACKEND=local, the default) writes to a temporary file
and renames it into place, so a half-written file is never seen under its key.

Uploads arrive as streams: `receive` copies one to a temporary file in chunks, hashing as
it goes and stopping as soon as the size cap is passed, so a file is never held whole in
memory and an oversized one is never read to its end."""

import hashlib
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from flask import Response, current_app, send_file
from werkzeug.datastructures import FileStorage, MultiDict

from webapp.engine.errors import Invalid, TooLarge

CHUNK = 64 * 1024


@dataclass(frozen=True)
class IncomingFile:
    """A file as a person sent it: the name and type are theirs, not checked. `source` is
    the request's file stream (bytes are accepted too, for callers that made the file)."""

    filename: str
    content_type: str
    source: IO[bytes] | bytes

    def stream(self) -> IO[bytes]:
        if isinstance(self.source, bytes):
            return io.BytesIO(self.source)
        self.source.seek(0)
        return self.source

    @property
    def data(self) -> bytes:
        """The whole file, for one the app holds already (a provider's signed copy);
        uploads are read through `stream`, in chunks, with the size cap."""
        return self.source if isinstance(self.source, bytes) else self.stream().read()


@dataclass(frozen=True)
class Received:
    """An upload copied to a temporary file: its digest, size and first bytes (for the
    type check). The caller stores it or lets `receiving` delete it."""

    path: Path
    sha256: str
    size: int
    head: bytes


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int


class Storage(Protocol):
    def receive(self, stream: IO[bytes], max_bytes: int | None) -> Received: ...

    def put(self, stream: IO[bytes], *, max_bytes: int | None = None) -> StoredFile: ...

    def put_received(self, received: Received) -> StoredFile: ...

    def put_bytes(self, data: bytes) -> StoredFile: ...

    def idle_for(self, key: str) -> float: ...

    def open(self, key: str) -> IO[bytes]: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


def incoming_files(files: MultiDict[str, FileStorage]) -> list[IncomingFile]:
    """The `file` parts of a multipart request, as the page and the API both receive them.
    Werkzeug has already spooled each large part to a temporary file; nothing is read here."""
    return [
        IncomingFile(f.filename or "upload", f.mimetype or "", f.stream)
        for f in files.getlist("file")
        if f.filename
    ]


def safe_name(filename: str) -> str:
    name = os.path.basename(filename.replace("\\", "/")).strip() or "upload"
    return "".join(c for c in name if c.isprintable())[:255]


def copy_capped(stream: IO[bytes], target: IO[bytes], max_bytes: int | None) -> tuple[str, int]:
    """Copy in chunks, hashing; TooLarge as soon as more than `max_bytes` arrived (the
    target then holds at most the cap and one chunk)."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise TooLarge(
                f"files may be at most {_megabytes(max_bytes)}.", {"maxBytes": max_bytes}
            )
        digest.update(chunk)
        target.write(chunk)
    return digest.hexdigest(), size


def _megabytes(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count // (1024 * 1024)} MB"
    return f"{count:,} bytes"


class LocalStorage:
    """Files in a folder: `<root>/<first two hex digits>/<sha256>`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _temporary_dir(self) -> Path:
        # Beside the files, so the final rename never crosses a file system.
        folder = self.root / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def receive(self, stream: IO[bytes], max_bytes: int | None) -> Received:
        with tempfile.NamedTemporaryFile(dir=self._temporary_dir(), delete=False) as handle:
            path = Path(handle.name)
            try:
                digest, size = copy_capped(stream, handle, max_bytes)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        with path.open("rb") as written:
            head = written.read(CHUNK)
        return Received(path, digest, size, head)

    def put_received(self, received: Received) -> StoredFile:
        key = f"{received.sha256[:2]}/{received.sha256}"
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            received.path.unlink(missing_ok=True)
            os.utime(target)  # written again: a purge of a deleted matter leaves it be
        else:
            received.path.replace(target)
        return StoredFile(key, received.sha256, received.size)

    def put(self, stream: IO[bytes], *, max_bytes: int | None = None) -> StoredFile:
        return self.put_received(self.receive(stream, max_bytes))

    def put_bytes(self, data: bytes) -> StoredFile:
        return self.put(io.BytesIO(data))

    def open(self, key: str) -> IO[bytes]:
        return self._path(key).open("rb")

    def idle_for(self, key: str) -> float:
        """Seconds since the file was last written (infinite when it is not there)."""
        try:
            return time.time() - self._path(key).stat().st_mtime
        except FileNotFoundError:
            return float("inf")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise Invalid("A storage key must name a file inside the store.")
        return path


BACKENDS: dict[str, Callable[[Any], Storage]] = {
    "local": lambda config: LocalStorage(Path(config["UPLOAD_DIR"]))
}


def backend() -> Storage:
    """The configured store (STORAGE_BACKEND). Only the local folder exists today; another
    backend implements `Storage` and registers here."""
    name = current_app.config.get("STORAGE_BACKEND", "local")
    if name not in BACKENDS:
        raise Invalid(f"No storage backend named {name!r} is configured.")
    return BACKENDS[name](current_app.config)


@contextmanager
def receiving(incoming: IncomingFile, max_bytes: int) -> Iterator[Received]:
    """The upload copied to a temporary file for the time of the block, then removed
    unless the block stored it."""
    received = backend().receive(incoming.stream(), max_bytes)
    try:
        yield received
    finally:
        received.path.unlink(missing_ok=True)


# PDFs may be shown inside the app's own pages (the signer reads the document there);
# nothing else a document holds may run or be framed.
INLINE_PDF_POLICY = "default-src 'none'; frame-ancestors 'self'"
ATTACHMENT_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


def file_response(
    stream: IO[bytes], *, name: str, content_type: str, sha256: str, inline: bool = False
) -> Response:
    """A stored document as the answer to a download: its sniffed type, never guessed
    again by the browser (nosniff), as an attachment — or in the page for a PDF preview —
    and never kept by a shared cache (who may read it is decided on every request)."""
    inline = inline and content_type == "application/pdf"
    response = send_file(
        stream,
        mimetype=content_type,
        as_attachment=not inline,
        download_name=name,
        etag=sha256,
        conditional=True,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Security-Policy"] = INLINE_PDF_POLICY if inline else ATTACHMENT_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN" if inline else "DENY"
    return response


def store(data: bytes) -> tuple[str, str]:
    """Bytes the app made itself (a rendered document), stored: their digest and key."""
    stored = backend().put_bytes(data)
    return stored.sha256, stored.key


def root() -> Path:
    """The local store's folder (tests read stored files there)."""
    return Path(current_app.config["UPLOAD_DIR"])
