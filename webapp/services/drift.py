"""Drift: how an instance differs from the template version it was created from,
computed at read time (never stored) by the pure comparison in engine/drift.py. Source
is compared with source: a templated step's title and config as written, not as rendered
(services.conditions.source_definition)."""

from dataclasses import dataclass

from sqlalchemy import select

from webapp.engine import drift
from webapp.engine.errors import Conflict
from webapp.engine.step_rows import definition_of
from webapp.extensions import db
from webapp.models import User, WorkflowInstance, WorkflowTemplate
from webapp.services.instances import created_title, load_instance, require_definition_reader
from webapp.services.steps.conditions import source_definition


@dataclass(frozen=True)
class DriftReport:
    base_workflow_id: int
    base_key: str
    base_version: int
    drift: drift.Drift


def base_template(instance: WorkflowInstance) -> WorkflowTemplate:
    """The version the instance was created from; its key and version survive in
    `base_ref` should the direct link ever be cleared."""
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


def drift_of(user: User, instance_id: int) -> DriftReport:
    instance = load_instance(instance_id, user)
    require_definition_reader(user)
    template = base_template(instance)
    base_title = created_title(instance) or template.name
    comparison = drift.compare(
        [definition_of(step) for step in template.steps],
        [source_definition(step) for step in instance.steps],
        {"title": base_title},
        {"title": instance.title},
    )
    return DriftReport(template.id, template.key, template.version, comparison)
