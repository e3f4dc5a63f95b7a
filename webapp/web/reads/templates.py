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


@dataclass
class TemplatesPage:
    rows: list[TemplateRow]
    total: int  # how many templates match, on every page
    after: str | None  # the key this page starts after (None: the first page)
    next_after: str | None  # where the next page starts, when there is one


PAGE_SIZE = 50


def templates_page(
    user: User,
    q: str | None = None,
    status: str | None = None,
    after: str | None = None,
    size: int = PAGE_SIZE,
) -> TemplatesPage:
    """A page of the latest version of each template by name, from `after` (keyset), with
    the published version now in effect and how many match in all."""
    require_staff(user)
    found, total = list_templates(
        user, q, status or None, latest_only=True, limit=size + 1, after_key=after or None
    )
    latest = found[:size]
    rows = db.session.execute(
        select(WorkflowTemplate.key, func.max(WorkflowTemplate.version))
        .where(
            WorkflowTemplate.org_id == user.org_id,
            WorkflowTemplate.status == PUBLISHED,
            WorkflowTemplate.key.in_([t.key for t in latest]),
            in_effect_at(utcnow()),
        )
        .group_by(WorkflowTemplate.key)
    )
    published = {key: version for key, version in rows}
    counts = step_counts([t.id for t in latest])
    following = latest[-1].key if len(found) > size else None
    return TemplatesPage(
        [TemplateRow(t, published.get(t.key), counts[t.id]) for t in latest],
        total,
        after,
        following,
    )


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
