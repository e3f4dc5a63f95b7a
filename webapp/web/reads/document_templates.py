"""What the document-template pages show: the list, and one template's page (its
versions, its fields, the matters a preview may use)."""

from dataclasses import dataclass

from webapp.engine.document_fields import Field, known_fields
from webapp.extensions import db
from webapp.models import DocumentTemplate, Matter, User
from webapp.services import document_templates as templates
from webapp.services.access import visible_matters

PREVIEW_MATTERS = 200  # the preview's matter list: the most recently changed ones


@dataclass(frozen=True)
class TemplatePage:
    template: DocumentTemplate
    versions: list[DocumentTemplate]
    fields: list[Field]
    known: list[str]
    matters: list[Matter]

    @property
    def unknown(self) -> list[str]:
        return [f.path for f in self.fields if not f.known]


def list_page(user: User) -> tuple[list[DocumentTemplate], int]:
    return templates.list_document_templates(user, limit=200)


def template_page(user: User, template_id: int) -> TemplatePage:
    template = templates.get_document_template(user, template_id)
    matters = db.session.scalars(
        visible_matters(user).order_by(Matter.updated_at.desc()).limit(PREVIEW_MATTERS)
    ).all()
    return TemplatePage(
        template=template,
        versions=templates.versions_of(user, template),
        fields=templates.template_fields(user, template_id),
        known=known_fields(),
        matters=list(matters),
    )


def preview_matter(page: TemplatePage, matter_id: int | None) -> Matter | None:
    """The matter chosen for the preview, if it is one the page offers."""
    return next((m for m in page.matters if m.id == matter_id), None)
