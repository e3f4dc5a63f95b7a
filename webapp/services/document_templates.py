"""Document templates: a firm's Word and HTML templates, versioned like workflow templates
(a draft changes in place, a published version never changes), the merge data they are
filled with, the preview, and the worker's side of `core.render_document`."""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from webapp.adapters import rendering, storage
from webapp.adapters.storage import IncomingFile
from webapp.engine import permissions
from webapp.engine.actions.automated import ActionFailed
from webapp.engine.document_fields import Field, FieldsError, fields_of
from webapp.engine.errors import Conflict, NotAllowed, NotFound, TooLarge, Unprocessable
from webapp.engine.roles import Role
from webapp.engine.templating import TemplatingError
from webapp.engine.text import refuse_line_breaks
from webapp.extensions import db
from webapp.models import (
    DocumentFormat,
    DocumentSource,
    DocumentTemplate,
    InstanceStep,
    Matter,
    Organization,
    WorkflowInstance,
)
from webapp.models import DocumentTemplateStatus as Status
from webapp.models.base import utcnow
from webapp.models.orgs import User
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import get_or_404, transactional
from webapp.services import clock
from webapp.services.access import actor_of, load_matter, matter_access
from webapp.services.documents import file_document
from webapp.services.steps.outputs import outputs

FORMATS = (DocumentFormat.DOCX, DocumentFormat.HTML)
OUTPUTS = ("pdf", "docx")
MAX_BODY = 500_000  # characters of an HTML template


@dataclass(frozen=True)
class Rendered:
    data: bytes
    content_type: str
    filename: str


# --- reading ------------------------------------------------------------------------------


def _require_reader(user: User) -> None:
    if not permissions.may_read_templates(actor_of(user)):
        raise NotAllowed("Only admins and lawyers can see document templates.")


def _require_author(user: User) -> None:
    if user.role not in (Role.ADMIN, Role.LAWYER):
        raise NotAllowed("Only admins and lawyers can manage document templates.")


def get_document_template(user: User, template_id: int) -> DocumentTemplate:
    _require_reader(user)  # before the lookup: the answer says nothing of the id
    template: DocumentTemplate = get_or_404(
        DocumentTemplate, template_id, user.org_id, "Document template"
    )
    return template


def list_document_templates(
    user: User, latest_only: bool = True, limit: int = 50, offset: int = 0
) -> tuple[list[DocumentTemplate], int]:
    """By name; the newest version of each key, or every version."""
    _require_reader(user)
    query = select(DocumentTemplate).where(DocumentTemplate.org_id == user.org_id)
    if latest_only:
        newest = (
            select(DocumentTemplate.key, func.max(DocumentTemplate.version).label("v"))
            .where(DocumentTemplate.org_id == user.org_id)
            .group_by(DocumentTemplate.key)
            .subquery()
        )
        query = query.join(
            newest,
            (DocumentTemplate.key == newest.c.key) & (DocumentTemplate.version == newest.c.v),
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(DocumentTemplate.name, DocumentTemplate.key, DocumentTemplate.version)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def versions_of(user: User, template: DocumentTemplate) -> list[DocumentTemplate]:
    _require_reader(user)
    return list(
        db.session.scalars(
            select(DocumentTemplate)
            .where(DocumentTemplate.org_id == user.org_id, DocumentTemplate.key == template.key)
            .order_by(DocumentTemplate.version.desc())
        )
    )


def template_fields(user: User, template_id: int) -> list[Field]:
    template = get_document_template(user, template_id)
    return [Field(str(f["path"]), bool(f["known"])) for f in template.fields]


def source_of(template: DocumentTemplate) -> str | bytes:
    """The HTML body, or the Word file's bytes from storage."""
    if template.format == DocumentFormat.HTML:
        return template.body or ""
    path = storage.root() / (template.storage_path or "")
    if not template.storage_path or not path.is_file():
        raise NotFound(f"The file of document template {template.id} is no longer stored.")
    return path.read_bytes()


# --- writing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Content:
    """What a template's text is, checked: the body or the stored file, and its fields."""

    body: str | None
    file_name: str | None
    storage_path: str | None
    sha256: str
    fields: list[dict[str, object]]


def _checked(fmt: str, body: str | None, upload: IncomingFile | None) -> Content:
    if fmt == DocumentFormat.HTML:
        return _checked_html(body)
    if upload is None:
        message = "Choose the Word file (.docx) of the template."
        raise Unprocessable(message, [{"field": "file", "message": message}])
    return _checked_docx(upload)


def _checked_html(body: str | None) -> Content:
    text = (body or "").strip()
    if not text:
        message = "Write the template's HTML."
        raise Unprocessable(message, [{"field": "body", "message": message}])
    if len(text) > MAX_BODY:
        message = f"The template is longer than {MAX_BODY:,} characters."
        raise Unprocessable(message, [{"field": "body", "message": message}])
    fields = _fields(text, "body")
    return Content(text, None, None, hashlib.sha256(text.encode()).hexdigest(), fields)


def _checked_docx(upload: IncomingFile) -> Content:
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    if len(upload.data) > limit:
        raise TooLarge(
            f"{upload.filename}: files may be at most {limit // (1024 * 1024)} MB.",
            {"maxBytes": limit},
        )
    try:
        source = rendering.docx_source(upload.data)
    except rendering.RenderError as error:
        raise Unprocessable(str(error), [{"field": "file", "message": str(error)}]) from None
    fields = _fields(source, "file")
    digest, path = storage.store(upload.data)
    return Content(None, storage.safe_name(upload.filename), path, digest, fields)


def _fields(source: str, field: str) -> list[dict[str, object]]:
    try:
        rendering.check_syntax(source)
        found = fields_of(source)
    except (FieldsError, TemplatingError) as error:
        message = str(error)
        if not message.startswith("The template"):
            message = f"The template cannot be read: {message}"
        raise Unprocessable(message, [{"field": field, "message": message}]) from None
    return [{"path": f.path, "known": f.known} for f in found]


def _name(name: str | None) -> str:
    text = (name or "").strip()
    if not text:
        raise Unprocessable(
            "A template needs a name.", [{"field": "name", "message": "Enter a name."}]
        )
    if len(text) > 200:
        message = "A name is at most 200 characters."
        raise Unprocessable(message, [{"field": "name", "message": message}])
    refuse_line_breaks(text, "A template's name", "name")
    return text


def _key_for(org_id: int, name: str) -> str:
    wanted = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:90] or "template"
    key, n = wanted, 2
    while db.session.scalar(
        select(DocumentTemplate.id).where(
            DocumentTemplate.org_id == org_id, DocumentTemplate.key == key
        )
    ):
        key, n = f"{wanted}_{n}", n + 1
    return key


@transactional
def create_document_template(
    user: User,
    name: str,
    fmt: str,
    body: str | None = None,
    upload: IncomingFile | None = None,
    key: str | None = None,
) -> DocumentTemplate:
    _require_author(user)
    title = _name(name)
    if fmt not in FORMATS:
        message = "The format is docx (a Word file) or html (written here)."
        raise Unprocessable(message, [{"field": "format", "message": message}])
    if key is not None and not re.fullmatch(r"[a-z][a-z0-9_-]{0,99}", key):
        message = "A key is lower-case letters, digits, _ and -, starting with a letter."
        raise Unprocessable(message, [{"field": "key", "message": message}])
    if key and _exists(user.org_id, key):
        raise Conflict(f"A document template with key {key!r} already exists.")
    content = _checked(fmt, body, upload)
    template = DocumentTemplate(
        org_id=user.org_id,
        key=key or _key_for(user.org_id, title),
        version=1,
        name=title,
        status=Status.DRAFT,
        format=fmt,
        created_by_id=user.id,
    )
    _fill(template, content)
    db.session.add(template)
    db.session.flush()
    _record(user, template, "document_template.created", new_status=Status.DRAFT)
    return template


def _exists(org_id: int, key: str) -> bool:
    found = db.session.scalar(
        select(DocumentTemplate.id).where(
            DocumentTemplate.org_id == org_id, DocumentTemplate.key == key
        )
    )
    return found is not None


def _fill(template: DocumentTemplate, content: Content) -> None:
    template.body = content.body
    template.file_name = content.file_name
    template.storage_path = content.storage_path
    template.sha256 = content.sha256
    template.fields = content.fields


@transactional
def update_document_template(
    user: User,
    template_id: int,
    name: str | None = None,
    body: str | None = None,
    upload: IncomingFile | None = None,
) -> tuple[DocumentTemplate, bool]:
    """The edited draft, and whether it is a new version: a published version is never
    changed, its edit becomes the next draft."""
    _require_author(user)
    template, created = _draft_of(user, get_document_template(user, template_id))
    if body is not None and template.format == DocumentFormat.DOCX:
        message = "A Word template changes by uploading a new file, not a body."
        raise Unprocessable(message, [{"field": "body", "message": message}])
    if name is not None:
        template.name = _name(name)
    if template.format == DocumentFormat.HTML and body is not None:
        _fill(template, _checked_html(body))
    if template.format == DocumentFormat.DOCX and upload is not None:
        _fill(template, _checked_docx(upload))
    if name is not None or body is not None or upload is not None:
        template.updated_at = utcnow()
        db.session.flush()
        _record(user, template, "document_template.updated")
    return template, created


def _draft_of(user: User, template: DocumentTemplate) -> tuple[DocumentTemplate, bool]:
    if template.status == Status.DRAFT:
        return template, False
    if template.status == Status.ARCHIVED:
        raise Conflict("An archived template cannot be edited.")
    newest = db.session.scalar(
        select(DocumentTemplate)
        .where(DocumentTemplate.org_id == user.org_id, DocumentTemplate.key == template.key)
        .order_by(DocumentTemplate.version.desc())
        .limit(1)
    )
    if newest is not None and newest.status == Status.DRAFT:
        raise Conflict(
            f"Version {newest.version} of this template is already a draft; edit that one.",
            {"draftId": newest.id, "version": newest.version},
        )
    draft = DocumentTemplate(
        org_id=template.org_id,
        key=template.key,
        version=(newest.version if newest else template.version) + 1,
        name=template.name,
        status=Status.DRAFT,
        format=template.format,
        body=template.body,
        file_name=template.file_name,
        storage_path=template.storage_path,
        sha256=template.sha256,
        fields=list(template.fields),
        created_by_id=user.id,
    )
    db.session.add(draft)
    db.session.flush()
    _record(user, draft, "document_template.version_created", new_status=Status.DRAFT)
    return draft, True


@transactional
def publish_document_template(user: User, template_id: int) -> DocumentTemplate:
    """Refused while the template reads a field no merge data provides: the refusal
    lists them (a published template must render for every matter)."""
    _require_author(user)
    template = get_document_template(user, template_id)
    if template.status != Status.DRAFT:
        raise Conflict(f"Only a draft can be published; this version is {template.status}.")
    unknown = [str(f["path"]) for f in template.fields if not f["known"]]
    if unknown:
        raise Unprocessable(
            f"The template uses fields no matter provides: {', '.join(unknown)}.",
            [{"field": path, "message": f"{path} is not a merge field."} for path in unknown],
        )
    template.status = Status.PUBLISHED
    template.published_at = utcnow()
    _record(user, template, "document_template.published", Status.DRAFT, Status.PUBLISHED)
    return template


def _record(
    user: User,
    template: DocumentTemplate,
    event_type: str,
    old_status: str | None = None,
    new_status: str | None = None,
) -> None:
    record_event(
        org_id=user.org_id,
        event_type=event_type,
        actor_id=user.id,
        old_status=old_status,
        new_status=new_status,
        payload={
            "documentTemplateId": template.id,
            "key": template.key,
            "version": template.version,
            "sha256": template.sha256,
        },
    )


# --- merge data ---------------------------------------------------------------------------


def merge_data(matter: Matter, instance: WorkflowInstance | None = None) -> dict[str, Any]:
    """What a template reads (docs/documents.md; the fields' table is
    engine/document_fields.MERGE_FIELDS). People screened from the matter are left out."""
    firm = db.session.get(Organization, matter.org_id)
    screened = matter_access(matter).screened
    members = [m for m in matter.members if m.user_id not in screened]

    def people(role: str) -> list[dict[str, str]]:
        return [_person(m.user) for m in members if m.role == role]

    clients = people(Role.CLIENT)
    return {
        "firm": {"name": firm.name if firm else ""},
        "matter": {
            "reference": matter.reference,
            "title": matter.title,
            "status": matter.status,
            "owner": _person(matter.owner),
            "members": {
                "lawyers": people(Role.LAWYER),
                "paralegals": people(Role.PARALEGAL),
                "clients": clients,
            },
            "parties": clients,
        },
        "instance": {
            "title": instance.title if instance else "",
            "context": (instance.context or {}) if instance else {},
            "parameters": (instance.context or {}) if instance else {},
        },
        "steps": outputs(instance) if instance else {},
        "today": clock.now().date(),
    }


def _person(user: User) -> dict[str, str]:
    return {"name": user.name, "email": user.email}


# --- preview ------------------------------------------------------------------------------


def render_preview(
    user: User, template_id: int, matter_id: int, instance_id: int | None, output: str
) -> Rendered:
    """The template filled for a matter (and one of its workflows), changing nothing."""
    _require_reader(user)
    # The matter first: someone who may not see it gets its answer whatever template
    # they name, so the answer says nothing of the firm's templates.
    matter = load_matter(matter_id, user)
    template = get_document_template(user, template_id)
    instance = None
    if instance_id is not None:
        instance = db.session.get(WorkflowInstance, instance_id)
        if instance is None or instance.org_id != user.org_id or instance.matter_id != matter.id:
            raise NotFound(f"Workflow {instance_id} was not found on this matter.")
    if output not in OUTPUTS:
        message = "The format is pdf or docx."
        raise Unprocessable(message, [{"field": "format", "message": message}])
    try:
        data = rendering.render_document(
            template.format, source_of(template), output, merge_data(matter, instance)
        )
    except rendering.RenderError as error:
        raise Unprocessable(str(error), [{"field": "template", "message": str(error)}]) from None
    return Rendered(data, rendering.CONTENT_TYPES[output], f"{template.name}.{output}")


# --- the worker's side of core.render_document --------------------------------------------


def published(org_id: int, key: str, version: int | None) -> DocumentTemplate | None:
    query = select(DocumentTemplate).where(
        DocumentTemplate.org_id == org_id,
        DocumentTemplate.key == key,
        DocumentTemplate.status == Status.PUBLISHED,
    )
    if version is not None:
        query = query.where(DocumentTemplate.version == version)
    return db.session.scalar(query.order_by(DocumentTemplate.version.desc()).limit(1))


def render_request(
    instance: WorkflowInstance, step: InstanceStep, request: dict[str, Any]
) -> dict[str, Any]:
    """Before the call: the published template and the merge data, read in the step's
    transaction; the rendering itself happens after the commit."""
    key, version = request["templateKey"], request.get("version")
    template = published(instance.org_id, key, version)
    if template is None:
        which = f"version {version} of " if version is not None else ""
        raise ActionFailed(f"There is no published {which}document template {key!r}.")
    output = request.get("format", "pdf")
    if template.format == DocumentFormat.HTML and output != "pdf":
        raise ActionFailed(f"The document template {key!r} is HTML: it renders to PDF only.")
    try:
        source = source_of(template)
    except NotFound as error:
        raise ActionFailed(error.message) from None
    return {
        **request,
        "format": output,
        "name": _file_name(request.get("name") or template.name, output),
        "templateFormat": template.format,
        "source": source,
        "data": merge_data(instance.matter, instance),
        "templateId": template.id,
        "templateVersion": template.version,
    }


def _file_name(name: str, output: str) -> str:
    stem = storage.safe_name(name)
    return stem if stem.lower().endswith(f".{output}") else f"{stem}.{output}"


def file_rendered(
    instance: WorkflowInstance, step: InstanceStep, result: dict[str, Any]
) -> dict[str, Any]:
    """After the call, in the step's second transaction: the stored file becomes a
    document of the matter, made by this step; the step outputs its id."""
    path = storage.root() / result["storagePath"]
    if not Path(path).is_file():
        raise ActionFailed("The rendered file is no longer stored.", retryable=True)
    document = file_document(
        org_id=instance.org_id,
        matter_id=instance.matter_id,
        name=result["name"],
        data=path.read_bytes(),
        content_type=result["contentType"],
        source=DocumentSource.RENDER,
        step_id=step.id,
        shared_with_client=bool(result.get("shareWithClient")),
    )
    record_event(
        org_id=instance.org_id,
        event_type="document.rendered",
        actor_id=None,
        matter_id=instance.matter_id,
        instance_id=instance.id,
        step_id=step.id,
        payload={
            "key": step.key,
            "documentId": document.id,
            "name": document.name,
            "sha256": document.sha256,
            "templateKey": result.get("templateKey"),
            "templateVersion": result.get("templateVersion"),
        },
    )
    return {"documentId": document.id, "name": document.name, "sha256": document.sha256}
