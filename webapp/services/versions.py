"""Which template version an instance pins, which one it may move to, and the plan of
the move (engine/migration.py) read from the rows. Reads only: the instance door
(`services.instances.perform(actor, id, Migrate(n))`) applies the plan."""

from datetime import datetime

from sqlalchemy import select

from webapp.engine import migration
from webapp.engine.errors import Conflict, NotFound
from webapp.engine.step_rows import definition_of
from webapp.extensions import db
from webapp.models import WorkflowInstance, WorkflowTemplate
from webapp.models.base import utcnow
from webapp.services.steps.conditions import source_definition
from webapp.services.templates import PUBLISHED, in_effect


def base_template(instance: WorkflowInstance) -> WorkflowTemplate:
    """The version the instance pins (the one it was created from, or last moved to);
    its key and version survive in `base_ref` should the direct link ever be cleared."""
    template = db.session.get(WorkflowTemplate, instance.template_id or 0)
    if template is None:
        template = db.session.scalar(
            select(WorkflowTemplate).where(
                WorkflowTemplate.org_id == instance.org_id,
                WorkflowTemplate.key == (instance.base_ref or {}).get("key"),
                WorkflowTemplate.version == instance.template_version,
            )
        )
    if template is None or template.org_id != instance.org_id:
        raise Conflict("The template version this workflow was created from no longer exists.")
    return template


def target_template(
    instance: WorkflowInstance, to_version: int, now: datetime | None = None
) -> WorkflowTemplate:
    """A newer published version of the instance's template, already in effect."""
    pinned = base_template(instance)
    target = db.session.scalar(
        select(WorkflowTemplate).where(
            WorkflowTemplate.org_id == instance.org_id,
            WorkflowTemplate.key == pinned.key,
            WorkflowTemplate.version == to_version,
        )
    )
    if target is None:
        raise NotFound(f"The template {pinned.key!r} has no version {to_version}.")
    if to_version == pinned.version:
        raise Conflict(f"This workflow is already on version {to_version}.")
    if to_version < pinned.version:
        raise Conflict(
            f"This workflow is on version {pinned.version}; it can move only to a newer version."
        )
    if target.status != PUBLISHED:
        raise Conflict(
            f"Version {to_version} is {target.status.lower()}; a workflow can move only to a "
            "published version."
        )
    if not in_effect(target, now or utcnow()):
        assert target.effective_from is not None  # not in effect: it has a date
        raise Conflict(
            f"Version {to_version} goes live on {target.effective_from:%Y-%m-%d %H:%M} UTC; "
            "a workflow can move to it from then.",
            {"effectiveFrom": target.effective_from.isoformat()},
        )
    return target


def plan_for(
    instance: WorkflowInstance, pinned: WorkflowTemplate, target: WorkflowTemplate
) -> migration.Plan:
    current = [
        migration.CurrentStep(source_definition(step), step.action_state) for step in instance.steps
    ]
    return migration.plan(
        [definition_of(step) for step in pinned.steps],
        [definition_of(step) for step in target.steps],
        current,
    )
