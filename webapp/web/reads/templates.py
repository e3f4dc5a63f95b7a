"""The workflow templates list: the latest version of each, with the one in effect."""

from dataclasses import dataclass

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import User, WorkflowTemplate
from webapp.models.base import utcnow
from webapp.services.access import require_staff
from webapp.services.templates import (
    PUBLISHED,
    get_template,
    in_effect_at,
    list_templates,
    step_counts,
)


@dataclass
class TemplateRow:
    template: WorkflowTemplate
    published_version: int | None
    step_count: int


def template_rows(user: User, q: str | None = None, status: str | None = None) -> list[TemplateRow]:
    """The latest version of each template, with the published version now in effect."""
    require_staff(user)
    latest, _total = list_templates(user, q, status or None, latest_only=True, limit=200)
    rows = db.session.execute(
        select(WorkflowTemplate.key, func.max(WorkflowTemplate.version))
        .where(
            WorkflowTemplate.org_id == user.org_id,
            WorkflowTemplate.status == PUBLISHED,
            in_effect_at(utcnow()),
        )
        .group_by(WorkflowTemplate.key)
    )
    published = {key: version for key, version in rows}
    counts = step_counts([t.id for t in latest])
    return [TemplateRow(t, published.get(t.key), counts[t.id]) for t in latest]


def template_row(user: User, template_id: int) -> TemplateRow:
    template = get_template(template_id, user)
    published = db.session.scalar(
        select(func.max(WorkflowTemplate.version)).where(
            WorkflowTemplate.org_id == user.org_id,
            WorkflowTemplate.key == template.key,
            WorkflowTemplate.status == PUBLISHED,
            in_effect_at(utcnow()),
        )
    )
    return TemplateRow(template, published, len(template.steps))
