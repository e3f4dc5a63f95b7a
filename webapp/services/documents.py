"""Documents of a matter: uploaded files checked and filed for their step, and who may
open one."""

from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from webapp.adapters import storage
from webapp.adapters.storage import IncomingFile
from webapp.engine.actions.request_doc import RequestDocHandler
from webapp.engine.errors import NotFound, TooLarge, Unprocessable
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document, DocumentSource, InstanceStep, User
from webapp.services.access import load_matter


def check_files(files: list[IncomingFile], handler: RequestDocHandler, ctx: Any) -> None:
    if not files:
        raise Unprocessable(
            "Attach at least one file.", [{"field": "file", "message": "no file was sent"}]
        )
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    too_big = [f.filename for f in files if len(f.data) > limit]
    if too_big:
        raise TooLarge(
            f"{', '.join(too_big)}: files may be at most {limit // (1024 * 1024)} MB.",
            {"maxBytes": limit},
        )
    empty = [f.filename for f in files if not f.data]
    if empty:
        raise Unprocessable(f"{', '.join(empty)}: the file is empty.")
    problems = [
        p
        for f in files
        if (p := handler.check_file(ctx, storage.safe_name(f.filename), f.data[:16]))
    ]
    if problems:
        raise Unprocessable(" ".join(problems), [{"field": "file", "message": p} for p in problems])


def store_for_step(
    user: User, matter_id: int, step_id: int, files: list[IncomingFile]
) -> list[dict[str, Any]]:
    """Store the files and file them on the matter, for the step; returns what the step
    records of each."""
    stored = []
    for incoming in files:
        document = file_document(
            org_id=user.org_id,
            matter_id=matter_id,
            name=incoming.filename,
            data=incoming.data,
            content_type=incoming.content_type or "application/octet-stream",
            source=DocumentSource.UPLOAD,
            step_id=step_id,
            uploaded_by_id=user.id,
        )
        stored.append(
            {
                "documentId": document.id,
                "name": document.name,
                "size": document.size,
                "sha256": document.sha256,
                "contentType": document.content_type,
            }
        )
    return stored


def file_document(
    *,
    org_id: int,
    matter_id: int,
    name: str,
    data: bytes,
    content_type: str,
    source: str,
    step_id: int | None = None,
    uploaded_by_id: int | None = None,
    shared_with_client: bool = False,
    replaces: Document | None = None,
) -> Document:
    """Stores the bytes and files them on the matter, inside the caller's transaction: a
    new document, or with `replaces` the next version of that one (its lineage)."""
    digest, path = storage.store(data)
    document = Document(
        org_id=org_id,
        matter_id=matter_id,
        step_id=step_id,
        uploaded_by_id=uploaded_by_id,
        name=storage.safe_name(name),
        content_type=content_type,
        size=len(data),
        sha256=digest,
        storage_path=path,
        source=source,
        shared_with_client=shared_with_client,
        lineage_id=replaces.lineage_id if replaces is not None else None,
        version=(_latest_version(replaces) + 1) if replaces is not None else 1,
    )
    db.session.add(document)
    db.session.flush()
    if document.lineage_id is None:
        document.lineage_id = document.id
    return document


def matter_document(org_id: int, matter_id: int, document_id: Any) -> Document | None:
    """The matter's document of that id (a step's config names it as text), or None."""
    if not str(document_id or "").isdigit():
        return None
    document = db.session.get(Document, int(document_id))
    if document is None or document.org_id != org_id or document.matter_id != matter_id:
        return None
    return document


def _latest_version(document: Document) -> int:
    return (
        db.session.scalar(
            select(func.max(Document.version)).where(Document.lineage_id == document.lineage_id)
        )
        or document.version
    )


def open_document(user: User, document_id: int) -> tuple[Document, Path]:
    """A member of the document's matter may download it; a client only from client steps."""
    missing = NotFound(f"Document {document_id} was not found.")
    document = db.session.get(Document, document_id)
    if document is None or document.org_id != user.org_id or document.matter_id is None:
        raise missing
    try:
        load_matter(document.matter_id, user)
    except NotFound:  # a matter one may not see: the document reads as not there at all
        raise missing from None
    if user.role == Role.CLIENT and document.step_id is not None:
        step = db.session.get(InstanceStep, document.step_id)
        if step is not None and step.role_scope != Role.CLIENT:
            raise missing
    return document, storage.root() / document.storage_path
