from typing import Any

from pydantic import Field

from webapp.engine.actions.automated import AutomatedHandler, Done, RunContext
from webapp.engine.actions.base import ActionConfig
from webapp.engine.actions.registry import register


class EchoConfig(ActionConfig):
    message: str = Field(default="", max_length=10_000, description="Text to pass on")
    data: dict[str, Any] | None = Field(default=None, description="Values to pass on")


@register
class EchoHandler(AutomatedHandler):
    type = "core.echo"
    label = "Echo"
    description = "Passes its (templated) message and data on as its output."
    Config = EchoConfig

    def run(self, ctx: RunContext) -> Done:
        output: dict[str, Any] = {"message": ctx.config.get("message", "")}
        if ctx.config.get("data") is not None:
            output["data"] = ctx.config["data"]
        return Done(output)
