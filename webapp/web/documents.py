"""A matter's Documents tab (the list with versions, staff uploads, sharing with the
client) and downloading a document: who may is decided on every request."""

from typing import Any

from flask import Blueprint, flash, request, url_for
from flask_login import current_user, login_required

from webapp.adapters.storage import file_response, incoming_files
from webapp.engine.errors import NotAllowed, TooLarge, Unprocessable
from webapp.services import documents
from webapp.web.htmx import page_or_block, redirect_to
from webapp.web.reads import matter_documents as reads

bp = Blueprint("documents", __name__)
PAGE = "matters/documents.html"
STATUS = {TooLarge: 413, NotAllowed: 403}
MAX_PAGE = 1_000_000  # past every matter's last page; keeps the offset a database integer


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


def _context(matter_id: int, **extra: Any) -> dict[str, Any]:
    page = min(max(request.args.get("page", 0, type=int) or 0, 0), MAX_PAGE)
    return {"view": reads.matter_documents(current_user, matter_id, page), "errors": {}, **extra}


@bp.get("/matters/<int:matter_id>/documents")
def index(matter_id: int) -> Any:
    return page_or_block(PAGE, "documents_card", **_context(matter_id))


@bp.post("/matters/<int:matter_id>/documents")
def upload(matter_id: int) -> Any:
    files = incoming_files(request.files)
    replaces = request.form.get("replaces", type=int)
    if replaces is not None and not 1 <= replaces <= 2**31 - 1:
        replaces = -1  # names no document: refused as one that is not there
    shared = request.form.get("shared") == "yes"
    try:
        filed = documents.upload_documents(
            current_user, matter_id, files, shared=shared, replaces_id=replaces
        )
    except (Unprocessable, TooLarge, NotAllowed) as error:
        status = STATUS.get(type(error), 422)
        context = _context(matter_id, errors={"file": [error.message]})
        return page_or_block(PAGE, "upload_form", **context), status
    names = ", ".join(document.name for document in filed)
    flash(f"Filed on the matter: {names}.", "success")
    return redirect_to(url_for(".index", matter_id=matter_id))


@bp.post("/documents/<int:document_id>/share")
def share(document_id: int) -> Any:
    shared = request.form.get("shared") == "yes"
    document = documents.share_document(current_user, document_id, shared)
    message = (
        f"{document.name} is shared with the client: every version of it."
        if shared
        else f"{document.name} is no longer shared with the client."
    )
    flash(message, "success")
    return redirect_to(url_for(".index", matter_id=document.matter_id))


@bp.get("/documents/<int:document_id>")
def download(document_id: int) -> Any:
    """`?inline=1` shows a PDF in the page (the signer's view); anything else downloads."""
    document, stream = documents.open_document(current_user, document_id)
    return file_response(
        stream,
        name=document.name,
        content_type=document.content_type,
        sha256=document.sha256,
        inline=request.args.get("inline") == "1",
    )
