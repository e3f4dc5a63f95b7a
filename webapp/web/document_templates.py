"""/documents/templates: the firm's document templates — the list, a new one (a Word file
uploaded, or HTML written here), a draft's edits, its fields, publishing (the refusal shown
where the button is), and a preview against a chosen matter (PDF in the page, DOCX to
download)."""

import io
from typing import Any

from flask import Blueprint, abort, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from webapp.adapters.rendering import DOCX
from webapp.adapters.storage import IncomingFile, incoming_files
from webapp.engine.errors import Conflict, DomainError, Unprocessable
from webapp.services import document_templates as templates
from webapp.web.forms import field_errors
from webapp.web.htmx import is_htmx, page_or_block, redirect_to
from webapp.web.reads import document_templates as reads

bp = Blueprint("document_templates", __name__, url_prefix="/documents/templates")
LIST = "document_templates/list.html"
PAGE = "document_templates/template.html"
# The preview is framed by the template's own page: this answer alone may be, by us only.
FRAMED = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
}


@bp.before_request
@login_required
def require_sign_in() -> None:
    return None


@bp.get("")
def index() -> Any:
    rows, total = reads.list_page(current_user)
    return render_template(LIST, rows=rows, total=total, form={}, errors={}, open=None)


def _upload() -> IncomingFile | None:
    files = incoming_files(request.files)
    return files[0] if files else None


@bp.post("")
def create() -> Any:
    form = request.form
    fmt = form.get("format", "")
    try:
        template = templates.create_document_template(
            current_user,
            form.get("name", ""),
            fmt,
            body=form.get("body") if fmt == "html" else None,
            upload=_upload() if fmt == "docx" else None,
        )
    except (Unprocessable, Conflict) as error:
        errors = field_errors(error.details) or {"form": [error.message]}
        rows, total = reads.list_page(current_user)
        page = render_template(LIST, rows=rows, total=total, form=form, errors=errors, open=fmt)
        return page, 422
    return redirect_to(url_for(".show", template_id=template.id))


def _page(template_id: int, status: int = 200, **extra: Any) -> Any:
    page = reads.template_page(current_user, template_id)
    matter_id = request.args.get("matter", type=int)
    output = request.args.get("format", "pdf")
    context = {
        "page": page,
        "form": {},
        "errors": {},
        "problems": [],
        "preview_matter": reads.preview_matter(page, matter_id),
        "preview_format": output if output in templates.OUTPUTS else "pdf",
        **extra,
    }
    return render_template(PAGE, **context), status


@bp.get("/<int:template_id>")
def show(template_id: int) -> Any:
    return _page(template_id)


@bp.post("/<int:template_id>")
def update(template_id: int) -> Any:
    form = request.form
    try:
        template, _ = templates.update_document_template(
            current_user,
            template_id,
            name=form.get("name"),
            body=form.get("body"),
            upload=_upload(),
        )
    except (Unprocessable, Conflict) as error:
        errors = field_errors(error.details) or {"form": [error.message]}
        return _page(template_id, 422, form=form, errors=errors)
    return redirect_to(url_for(".show", template_id=template.id))


@bp.post("/<int:template_id>/publish")
def publish(template_id: int) -> Any:
    try:
        templates.publish_document_template(current_user, template_id)
    except (Unprocessable, Conflict) as error:
        problems = [error.message]
        if is_htmx():
            page = reads.template_page(current_user, template_id)
            return page_or_block(PAGE, "publish_panel", page=page, problems=problems), 422
        return _page(template_id, 422, problems=problems)
    return redirect_to(url_for(".show", template_id=template_id))


@bp.post("/<int:template_id>/new-version")
def new_version(template_id: int) -> Any:
    """A published version stays as it is; its edits go to the next draft."""
    draft, _ = templates.update_document_template(current_user, template_id)
    return redirect_to(url_for(".show", template_id=draft.id))


@bp.get("/<int:template_id>/file")
def download_file(template_id: int) -> Any:
    """A Word template's own file, to edit in Word and upload again."""
    template = templates.get_document_template(current_user, template_id)
    source = templates.source_of(template)
    if not isinstance(source, bytes):
        abort(404)
    return send_file(
        io.BytesIO(source),
        mimetype=DOCX,
        as_attachment=True,
        download_name=template.file_name or f"{template.key}.docx",
    )


@bp.get("/<int:template_id>/preview")
def preview(template_id: int) -> Any:
    """The file itself: a PDF shown in the page's frame, a DOCX downloaded. A refusal is
    a short page of its own, shown in the frame."""
    matter_id = request.args.get("matter", type=int)
    output = request.args.get("format", "pdf")
    try:
        if matter_id is None:
            raise Unprocessable("Choose a matter to preview the template with.")
        rendered = templates.render_preview(current_user, template_id, matter_id, None, output)
    except DomainError as error:
        answer = render_template("document_templates/preview_error.html", message=error.message)
        return answer, (404 if error.code == "not_found" else 422), FRAMED
    response = send_file(
        io.BytesIO(rendered.data),
        mimetype=rendered.content_type,
        as_attachment=output == "docx",
        download_name=rendered.filename,
    )
    response.headers.update(FRAMED)
    return response
