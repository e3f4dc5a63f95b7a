"""Document templates: list, create (an HTML body, or a Word file as multipart), edit a
draft, publish, the merge fields, and a preview render for a matter."""

import io
from typing import cast

from flask import request, send_file
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.adapters.storage import IncomingFile, incoming_files
from webapp.api import document_template_schemas as d
from webapp.api.blueprint import api
from webapp.api.paging import page_args
from webapp.api.serialize import respond
from webapp.api.spec import PAGE, Query, endpoint, parse_body
from webapp.engine.document_fields import known_fields
from webapp.engine.errors import Unprocessable
from webapp.models import DocumentTemplate
from webapp.services import document_templates as templates

TAG = "Document templates"
MULTIPART = "multipart/form-data"


def template_out(template: DocumentTemplate) -> d.DocumentTemplateOut:
    return d.DocumentTemplateOut.model_validate(template)


@endpoint(
    api,
    "/document-templates",
    "GET",
    summary="List document templates (newest version of each)",
    tag=TAG,
    response=d.DocumentTemplateList,
    query={"allVersions": Query("true to list every version", {"type": "boolean"}), **PAGE},
)
def list_document_templates() -> ResponseReturnValue:
    limit, offset = page_args()
    rows, total = templates.list_document_templates(
        current_user, request.args.get("allVersions") != "true", limit, offset
    )
    return respond(d.DocumentTemplateList(items=[template_out(t) for t in rows], total=total))


def _one_file() -> IncomingFile:
    files = incoming_files(request.files)
    if len(files) != 1:
        message = "Send the Word file (.docx) as one `file` part."
        raise Unprocessable(message, [{"field": "file", "message": message}])
    return files[0]


@endpoint(
    api,
    "/document-templates",
    "POST",
    summary="Create a draft: JSON {name, format: html, body}, or multipart `file` (.docx) "
    "and `name` (and `key`)",
    tag=TAG,
    body=d.DocumentTemplateIn,
    response=d.DocumentTemplateOut,
    status=201,
    multipart=True,
    form={
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": d.NAME_PATTERN},
        "key": {"type": "string", "pattern": d.KEY_PATTERN},
    },
    form_required=("file", "name"),
)
def create_document_template(body: d.DocumentTemplateIn | None = None) -> ResponseReturnValue:
    if request.mimetype == MULTIPART:
        upload = _one_file()
        template = templates.create_document_template(
            current_user,
            request.form.get("name", ""),
            "docx",
            upload=upload,
            key=request.form.get("key") or None,
        )
    else:
        new = body or cast(d.DocumentTemplateIn, parse_body(d.DocumentTemplateIn))
        template = templates.create_document_template(
            current_user, new.name, new.format, body=new.body, key=new.key
        )
    return respond(template_out(template), 201)


@endpoint(
    api,
    "/document-templates/<int:template_id>",
    "GET",
    summary="Get a document template version",
    tag=TAG,
    response=d.DocumentTemplateOut,
)
def get_document_template(template_id: int) -> ResponseReturnValue:
    return respond(template_out(templates.get_document_template(current_user, template_id)))


@endpoint(
    api,
    "/document-templates/<int:template_id>",
    "PATCH",
    summary="Edit a draft (JSON {name?, body?}, or multipart `file` and `name`?); editing a "
    "published version creates the next draft (201)",
    tag=TAG,
    body=d.DocumentTemplatePatch,
    response=d.DocumentTemplateOut,
    multipart=True,
    form={"name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": d.NAME_PATTERN}},
    form_required=("file",),
    also={201: "The version was published: the edit created and returns the next draft"},
)
def patch_document_template(
    template_id: int, body: d.DocumentTemplatePatch | None = None
) -> ResponseReturnValue:
    if request.mimetype == MULTIPART:
        template, created = templates.update_document_template(
            current_user,
            template_id,
            name=request.form.get("name") or None,
            upload=_one_file(),
        )
    else:
        edit = body or cast(d.DocumentTemplatePatch, parse_body(d.DocumentTemplatePatch))
        template, created = templates.update_document_template(
            current_user, template_id, name=edit.name, body=edit.body
        )
    return respond(template_out(template), 201 if created else 200)


@endpoint(
    api,
    "/document-templates/<int:template_id>/publish",
    "POST",
    summary="Publish a draft; refused (422) while it uses fields no merge data provides",
    tag=TAG,
    response=d.DocumentTemplateOut,
)
def publish_document_template(template_id: int) -> ResponseReturnValue:
    return respond(template_out(templates.publish_document_template(current_user, template_id)))


@endpoint(
    api,
    "/document-templates/<int:template_id>/fields",
    "GET",
    summary="The merge fields the template uses, each known or not",
    tag=TAG,
    response=d.FieldList,
)
def document_template_fields(template_id: int) -> ResponseReturnValue:
    fields = templates.template_fields(current_user, template_id)
    items = [d.MergeField(path=f.path, known=f.known) for f in fields]
    unknown = [f.path for f in fields if not f.known]
    return respond(d.FieldList(items=items, unknown=unknown, known_fields=known_fields()))


@endpoint(
    api,
    "/document-templates/<int:template_id>/render",
    "POST",
    summary="Preview: the template filled for a matter, as the PDF or DOCX file itself "
    "(nothing is stored)",
    tag=TAG,
    body=d.RenderIn,
)
def render_document_template(template_id: int, body: d.RenderIn) -> ResponseReturnValue:
    rendered = templates.render_preview(
        current_user, template_id, body.matter_id, body.instance_id, body.format
    )
    return send_file(
        io.BytesIO(rendered.data),
        mimetype=rendered.content_type,
        as_attachment=True,
        download_name=rendered.filename,
    )
