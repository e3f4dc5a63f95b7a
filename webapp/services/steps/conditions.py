"""What conditions and templates of a step see, and applying them to the step.

Both read the same five names: `context` (the instance's parameters), `steps` (outputs
by step key), `matter` (reference, title, status), `instance` (id, title, status) and
`trigger` (type and data: what started the workflow)."""

from typing import Any

from webapp.engine.actions import get_handler
from webapp.engine.errors import DomainError
from webapp.engine.expressions import evaluate_condition as evaluate_expression
from webapp.engine.step_rows import definition_of
from webapp.engine.templating import is_template, render, render_value, template_strings
from webapp.models import InstanceStep, WorkflowInstance
from webapp.services.steps.outputs import outputs

# Where the raw (unrendered) title and config of a templated step are kept.
TEMPLATE_KEY = "template"
MAX_TITLE = 300


def variables_for(instance: WorkflowInstance) -> dict[str, Any]:
    matter = instance.matter
    return {
        "context": instance.context or {},
        "steps": outputs(instance),
        "matter": {"reference": matter.reference, "title": matter.title, "status": matter.status},
        "instance": {"id": instance.id, "title": instance.title, "status": instance.status},
        "trigger": {"type": instance.trigger_type, "data": instance.trigger_data or {}},
    }


def evaluate_condition(step: InstanceStep, instance: WorkflowInstance) -> bool:
    """Raises engine.expressions.ExpressionError when the condition cannot be evaluated."""
    return evaluate_expression(step.condition or "", variables_for(instance))


def raw_template(step: InstanceStep) -> dict[str, Any] | None:
    return (step.action_data or {}).get(TEMPLATE_KEY)


# The definition fields a rendering replaces, as the source keeps them.
SOURCE_FIELDS = {"title": "title", "action_config": "actionConfig"}


def source_definition(step: InstanceStep) -> dict[str, Any]:
    """The step's definition as written, not as rendered: a templated step keeps its source
    title and config in `action_data["template"]` once rendered. Drift compares this with
    the template's steps, so rendering (and working the step) is never a change."""
    definition = definition_of(step)
    source = raw_template(step)
    if source is not None:
        definition.update({name: source[name] for name in SOURCE_FIELDS.values() if name in source})
    return definition


def edit_source(step: InstanceStep, field: str, value: Any) -> None:
    """A person set `field` of a rendered step: the new value is its source from now on."""
    source = raw_template(step)
    if source is not None and field in SOURCE_FIELDS:
        step.action_data = {
            **step.action_data,
            TEMPLATE_KEY: {**source, SOURCE_FIELDS[field]: value},
        }


def is_templated(step: InstanceStep) -> bool:
    source = raw_template(step)
    if source is not None:
        return True
    return is_template(step.title) or any(True for _ in template_strings(step.action_config or {}))


def render_step(step: InstanceStep, instance: WorkflowInstance) -> None:
    """Render the title and config strings into the step, keeping the raw template in
    `action_data["template"]` so a retry renders again and drift still sees the source.
    Raises TemplatingError, or Unprocessable when the rendered config is not valid."""
    if not is_templated(step):
        return
    source = raw_template(step) or {"title": step.title, "actionConfig": step.action_config or {}}
    variables = variables_for(instance)
    title = render(source["title"], variables).strip()[:MAX_TITLE] or source["title"]
    config = render_value(source["actionConfig"], variables)
    try:
        config = get_handler(step.action_type).validate_config(config)
    except DomainError as error:
        raise DomainError(f"The rendered configuration is not valid: {_detail(error)}") from None
    step.title = title
    step.action_config = config
    step.action_data = {**(step.action_data or {}), TEMPLATE_KEY: source}


def _detail(error: DomainError) -> str:
    if isinstance(error.details, list) and error.details:
        first = error.details[0]
        return f"{first.get('field')}: {first.get('message')}"
    return error.message
