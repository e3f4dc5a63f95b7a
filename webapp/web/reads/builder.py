"""The template builder: a version, its siblings and the preview of how it unfolds."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from webapp.engine.errors import NotFound
from webapp.engine.progress import prerequisites
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import TemplateStep, User, WorkflowTemplate
from webapp.services.access import require_staff
from webapp.services.templates import get_template
from webapp.web.reads.common import ActionType, action_label, action_types


@dataclass
class PreviewItem:
    key: str
    title: str
    role: str
    action_label: str
    waits_on: list[str]
    condition: str | None
    required: bool


@dataclass
class Preview:
    stages: list[list[PreviewItem]]
    stuck: list[PreviewItem]  # never become ready: a cycle or an unknown prerequisite


def preview_layout(steps: Sequence[Any]) -> Preview:
    """How a new instance of these steps unfolds: stage 1 starts READY, each later stage
    waits on the one before (the engine's own prerequisite rule)."""
    titles = {s.key: s.title for s in steps}
    requires = {s.key: prerequisites(s, steps) for s in steps}
    stage_of: dict[str, int] = {}
    remaining = [s.key for s in steps]
    stage = 0
    while remaining:
        ready = [k for k in remaining if all(p in stage_of for p in requires[k])]
        if not ready:
            break
        for key in ready:
            stage_of[key] = stage
        remaining = [k for k in remaining if k not in stage_of]
        stage += 1

    def item(step: Any) -> PreviewItem:
        return PreviewItem(
            key=step.key,
            title=step.title,
            role=step.role_scope,
            action_label=action_label(step.action_type),
            waits_on=[titles.get(k, k) for k in requires[step.key]],
            condition=step.condition,
            required=step.required,
        )

    stages: list[list[PreviewItem]] = [[] for _ in range(stage)]
    for step in steps:
        if step.key in stage_of:
            stages[stage_of[step.key]].append(item(step))
    return Preview(stages, [item(s) for s in steps if s.key not in stage_of])


@dataclass
class BuilderView:
    template: WorkflowTemplate
    editable: bool
    versions: list[WorkflowTemplate]
    draft: WorkflowTemplate | None  # a newer draft of a published or archived version
    preview: Preview
    types: list[ActionType]
    roles: list[str] = field(default_factory=lambda: [r.value for r in Role])


def builder_view(user: User, template_id: int) -> BuilderView:
    require_staff(user)
    template = get_template(template_id, user)
    versions = list(
        db.session.scalars(
            select(WorkflowTemplate)
            .where(WorkflowTemplate.org_id == user.org_id, WorkflowTemplate.key == template.key)
            .order_by(WorkflowTemplate.version.desc())
        )
    )
    draft = next((v for v in versions if v.status == "DRAFT" and v.id != template.id), None)
    return BuilderView(
        template=template,
        editable=template.status == "DRAFT",
        versions=versions,
        draft=draft,
        preview=preview_layout(template.steps),
        types=action_types(),
    )


def template_step(template: WorkflowTemplate, step_id: int) -> TemplateStep:
    for step in template.steps:
        if step.id == step_id:
            return step
    raise NotFound(f"Step {step_id} is not part of this template.")
