from typing import Any

from pydantic import Field

from webapp.engine.actions.automated import AutomatedHandler, Done, RunContext
from webapp.engine.actions.base import ActionConfig, Category
from webapp.engine.actions.registry import register


class EchoConfig(ActionConfig):
    message: str = Field(default="", max_length=10_000, description="Text to pass on")
    data: dict[str, Any] | None = Field(default=None, description="Values to pass on")


@register
class EchoHandler(AutomatedHandler):
    type = "core.echo"
    category = Category.DATA
    label = "Echo"
    description = "Passes its (templated) message and data on as its output."
    Config = EchoConfig
    example = {
        "message": "Intake for {{ matter.reference }} received",
        "data": {"workflow": "{{ instance.title }}"},
    }

    def run(self, ctx: RunContext) -> Done:
        output: dict[str, Any] = {"message": ctx.config.get("message", "")}
        if ctx.config.get("data") is not None:
            output["data"] = ctx.config["data"]
        return Done(output)
