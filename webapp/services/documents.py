"""Uploaded files: checked, hashed, stored by content, then the step completes."""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from webapp.engine.actions import get_handler
from webapp.engine.actions.request_doc import RequestDocHandler
from webapp.engine.errors import Invalid, NotFound, TooLarge, Unprocessable
from webapp.engine.roles import Role
from webapp.engine.states import StepEvent, StepState
from webapp.extensions import db
from webapp.models import Document, InstanceStep, User
from webapp.persistence.transaction import transactional
from webapp.services.access import load_matter
from webapp.services.progress import advance
from webapp.services.steps import (
    _complete,
    _start,
    context_for,
    load_step,
    require_active,
    require_open,
    require_permission,
)


@dataclass
class IncomingFile:
    filename: str
    content_type: str
    data: bytes


def _safe_name(filename: str) -> str:
    name = os.path.basename(filename.replace("\\", "/")).strip() or "upload"
    return "".join(c for c in name if c.isprintable())[:255]


def _store(data: bytes) -> tuple[str, str]:
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(current_app.config["UPLOAD_DIR"]) / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if not path.exists():
        temporary = path.with_suffix(".part")
        temporary.write_bytes(data)
        temporary.replace(path)
    return digest, str(path.relative_to(current_app.config["UPLOAD_DIR"]))


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
        p for f in files if (p := handler.check_file(ctx, _safe_name(f.filename), f.data[:16]))
    ]
    if problems:
        raise Unprocessable(" ".join(problems), [{"field": "file", "message": p} for p in problems])


@transactional
def upload_to_step(user: User, step_id: int, files: list[IncomingFile]) -> Any:
    loaded = load_step(step_id, user)
    handler = get_handler(loaded.step.action_type)
    if not isinstance(handler, RequestDocHandler):
        raise Invalid("Files can only be uploaded to a document request step.")
    require_active(loaded.instance)
    require_permission(loaded, user, StepEvent.COMPLETE)
    require_open(loaded.step, StepEvent.COMPLETE)
    check_files(files, handler, context_for(loaded, user.id))
    if loaded.step.action_state == StepState.READY:
        _start(loaded, user.id)
    stored = []
    for incoming in files:
        digest, path = _store(incoming.data)
        document = Document(
            org_id=user.org_id,
            matter_id=loaded.instance.matter_id,
            step_id=loaded.step.id,
            uploaded_by_id=user.id,
            name=_safe_name(incoming.filename),
            content_type=incoming.content_type or "application/octet-stream",
            size=len(incoming.data),
            sha256=digest,
            storage_path=path,
        )
        db.session.add(document)
        db.session.flush()
        stored.append(
            {
                "documentId": document.id,
                "name": document.name,
                "size": document.size,
                "sha256": digest,
                "contentType": document.content_type,
            }
        )
    _complete(loaded, user.id, {"files": stored})
    advance(loaded.instance, user.id, moved=[loaded.step], revision=loaded.revision)
    return loaded.instance


def step_documents(step: InstanceStep) -> list[Document]:
    return list(
        db.session.scalars(
            select(Document).where(Document.step_id == step.id).order_by(Document.id)
        )
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
    return document, Path(current_app.config["UPLOAD_DIR"]) / document.storage_path
