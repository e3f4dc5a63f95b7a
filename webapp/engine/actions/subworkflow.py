from typing import Any

from pydantic import Field

from webapp.engine.actions.automated import ActionFailed, AutomatedHandler, RunContext, Spawn
from webapp.engine.actions.base import ActionConfig, Category
from webapp.engine.actions.registry import register
from webapp.engine.definition import TEMPLATE_KEY_PATTERN


class SubworkflowConfig(ActionConfig):
    template_key: str = Field(
        alias="templateKey", pattern=TEMPLATE_KEY_PATTERN, description="Key of the template to run"
    )
    title: str | None = Field(default=None, max_length=300, description="Child workflow title")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="The child's context (templated)"
    )


@register
class SubworkflowHandler(AutomatedHandler):
    type = "core.subworkflow"
    category = Category.CONTROL
    label = "Sub-workflow"
    description = (
        "Starts the latest published version of another template on the same matter and "
        "waits for it; its outputs become this step's output."
    )
    Config = SubworkflowConfig
    example = {
        "templateKey": "client_onboarding",
        "title": "Onboarding for {{ matter.reference }}",
        "parameters": {"clientName": "{{ context.clientName }}"},
    }

    def run(self, ctx: RunContext) -> Spawn:
        return Spawn(
            ctx.config["templateKey"], ctx.config.get("title"), ctx.config.get("parameters", {})
        )


def check_depth(depth: int, max_depth: int, template_key: str) -> None:
    if depth > max_depth:
        raise ActionFailed(
            f"Cannot start sub-workflow {template_key!r}: it would be nested {depth} levels "
            f"deep and SUBWORKFLOW_MAX_DEPTH is {max_depth}."
        )
