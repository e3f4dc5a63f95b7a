"""A `core.email` step's attachments: documents of the step's own matter, resolved when
the step runs, within the size an email may carry (EMAIL_ATTACHMENT_MAX_BYTES)."""

from typing import Any

from flask import current_app
from sqlalchemy import select

from webapp.adapters import storage
from webapp.engine.actions.automated import ActionFailed
from webapp.extensions import db
from webapp.models import Document, InstanceStep, WorkflowInstance


def attachment_request(
    instance: WorkflowInstance, step: InstanceStep, request: dict[str, Any]
) -> dict[str, Any]:
    wanted = request.get("attachments") or []
    if not wanted:
        return request
    ids = [_document_id(value) for value in wanted]
    found = {
        d.id: d
        for d in db.session.scalars(
            select(Document).where(Document.id.in_(ids), Document.org_id == instance.org_id)
        )
    }
    strangers = [i for i in ids if i not in found or found[i].matter_id != instance.matter_id]
    if strangers:
        listed = ", ".join(str(i) for i in strangers)
        raise ActionFailed(f"Cannot attach document {listed}: it is not a document of this matter.")
    documents = [found[i] for i in dict.fromkeys(ids)]
    total, limit = sum(d.size for d in documents), current_app.config["EMAIL_ATTACHMENT_MAX_BYTES"]
    if total > limit:
        raise ActionFailed(
            f"The attachments come to {_megabytes(total)}; an email may carry at most "
            f"{_megabytes(limit)}."
        )
    missing = [d.name for d in documents if not (storage.root() / d.storage_path).is_file()]
    if missing:
        raise ActionFailed(f"Cannot attach {', '.join(missing)}: the file is no longer stored.")
    return {
        **request,
        "attachments": [
            {
                "documentId": d.id,
                "name": d.name,
                "contentType": d.content_type,
                "storagePath": d.storage_path,
            }
            for d in documents
        ],
    }


def _document_id(value: Any) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise ActionFailed(f"{text!r} is not a document id: an attachment names a document.")
    return int(text)


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{-(-size // 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"
