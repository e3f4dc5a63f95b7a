"""Checks a template must pass before it is published. Every problem is listed at once."""

from webapp.engine.errors import Unprocessable
from webapp.models import WorkflowTemplate


def check_publishable(template: WorkflowTemplate) -> None:
    if not template.steps:
        raise Unprocessable(
            "A template needs at least one step before it can be published.",
            [{"field": "steps", "message": "no steps"}],
        )
