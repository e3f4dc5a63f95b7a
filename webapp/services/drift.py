"""Drift: how an instance differs from the template version it pins (the one it was
created from, or last moved to),
computed at read time (never stored) by the pure comparison in engine/drift.py. Source
is compared with source: a templated step's title and config as written, not as rendered
(services.conditions.source_definition)."""

from dataclasses import dataclass

from webapp.engine import drift
from webapp.engine.step_rows import definition_of
from webapp.models import User
from webapp.services.instances import created_title, load_instance, require_definition_reader
from webapp.services.steps.conditions import source_definition
from webapp.services.versions import base_template


@dataclass(frozen=True)
class DriftReport:
    base_workflow_id: int
    base_key: str
    base_version: int
    drift: drift.Drift


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
