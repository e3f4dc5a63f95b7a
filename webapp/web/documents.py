"""Downloading an uploaded document: members of its matter only (clients: their steps')."""

from typing import Any

from flask import Blueprint, abort, send_file
from flask_login import current_user, login_required

from webapp.services import documents

bp = Blueprint("documents", __name__, url_prefix="/documents")


@bp.get("/<int:document_id>")
@login_required
def download(document_id: int) -> Any:
    document, path = documents.open_document(current_user, document_id)
    if not path.is_file():
        abort(404, "The file of this document is no longer stored.")
    return send_file(
        path,
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.name,
    )
