"""A matter's documents: list, upload (multipart `file` parts, checked by content),
read, share with the client, and download — authorised on every request."""

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.adapters.storage import file_response, incoming_files
from webapp.api import document_schemas as s
from webapp.api.blueprint import api
from webapp.api.paging import page_args
from webapp.api.serialize import respond
from webapp.api.spec import PAGE, Query, endpoint
from webapp.engine.errors import Invalid
from webapp.models import Document
from webapp.services import documents

TAG = "Documents"
MAX_ID = 2**31 - 1


def document_out(document: Document) -> s.DocumentOut:
    return s.DocumentOut(
        id=document.id,
        matter_id=document.matter_id or 0,
        lineage_id=document.lineage_id or document.id,
        version=document.version,
        name=document.name,
        content_type=document.content_type,
        size=document.size,
        sha256=document.sha256,
        source=document.source,
        step_id=document.step_id,
        uploaded_by_id=document.uploaded_by_id,
        shared_with_client=document.shared_with_client,
        created_at=document.created_at,
        content_url=f"/api/v1/documents/{document.id}/content",
    )


@endpoint(
    api,
    "/matters/<int:matter_id>/documents",
    "GET",
    summary="List a matter's documents (every version, newest first; clients: the shared)",
    tag=TAG,
    response=s.DocumentList,
    query=PAGE,
)
def list_documents(matter_id: int) -> ResponseReturnValue:
    limit, offset = page_args()
    rows, total = documents.list_documents(current_user, matter_id, limit, offset)
    return respond(s.DocumentList(items=[document_out(d) for d in rows], total=total))


@endpoint(
    api,
    "/matters/<int:matter_id>/documents",
    "POST",
    summary="Upload documents (multipart `file` parts; each checked by its content)",
    tag=TAG,
    response=s.DocumentList,
    status=201,
    multipart=True,
    query={
        "shared": Query("share them with the matter's clients", {"type": "boolean"}),
        "replaces": Query(
            "file the one file as the next version of this document",
            {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        ),
    },
)
def upload_documents(matter_id: int) -> ResponseReturnValue:
    replaces = request.args.get("replaces")
    if replaces is not None and not (replaces.isdigit() and 1 <= int(replaces) <= MAX_ID):
        raise Invalid("replaces must be a document id.", {"given": replaces})
    filed = documents.upload_documents(
        current_user,
        matter_id,
        incoming_files(request.files),
        shared=request.args.get("shared") == "true",
        replaces_id=int(replaces) if replaces is not None else None,
    )
    return respond(s.DocumentList(items=[document_out(d) for d in filed], total=len(filed)), 201)


@endpoint(
    api,
    "/documents/<int:document_id>",
    "GET",
    summary="Get a document",
    tag=TAG,
    response=s.DocumentOut,
)
def get_document(document_id: int) -> ResponseReturnValue:
    return respond(document_out(documents.get_document(current_user, document_id)))


@endpoint(
    api,
    "/documents/<int:document_id>",
    "PATCH",
    summary="Share a document with the client, or stop",
    tag=TAG,
    body=s.DocumentPatch,
    response=s.DocumentOut,
)
def patch_document(document_id: int, body: s.DocumentPatch) -> ResponseReturnValue:
    document = documents.share_document(current_user, document_id, body.shared_with_client)
    return respond(document_out(document))


@endpoint(
    api,
    "/documents/<int:document_id>/content",
    "GET",
    summary="Download a document's bytes (its sniffed Content-Type; `inline=true` for a PDF)",
    tag=TAG,
    query={
        "inline": Query("show a PDF in the page instead of downloading it", {"type": "boolean"})
    },
)
def document_content(document_id: int) -> ResponseReturnValue:
    document, stream = documents.open_document(current_user, document_id)
    return file_response(
        stream,
        name=document.name,
        content_type=document.content_type,
        sha256=document.sha256,
        inline=request.args.get("inline") == "true",
    )
