from datetime import datetime

from pydantic import Field, field_validator, model_validator

from webapp.engine.actions.automated import AutomatedHandler, Done, RunContext, Wait
from webapp.engine.actions.base import ActionConfig, Category
from webapp.engine.actions.registry import register
from webapp.engine.definition import normalize_duration, parse_duration
from webapp.engine.templating import is_template


def parse_timestamp(value: str) -> datetime:
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone; add Z or an offset such as +01:00")
    return moment


class DelayConfig(ActionConfig):
    duration: str | None = Field(
        default=None, description="How long to wait, e.g. 3 days, 4 hours or P3D"
    )
    until: str | None = Field(default=None, description="ISO-8601 timestamp with a time zone")

    @field_validator("duration")
    @classmethod
    def duration_is_iso(cls, value: str | None) -> str | None:
        if value and not is_template(value):
            return normalize_duration(value)
        return value

    @field_validator("until")
    @classmethod
    def until_is_timestamp(cls, value: str | None) -> str | None:
        if value and not is_template(value):
            parse_timestamp(value)
        return value

    @model_validator(mode="after")
    def one_of_duration_or_until(self) -> "DelayConfig":
        if bool(self.duration) == bool(self.until):
            raise ValueError("give either duration or until")
        return self


@register
class DelayHandler(AutomatedHandler):
    type = "core.delay"
    category = Category.CONTROL
    label = "Delay"
    description = "Waits for a duration or until a moment; the job is simply due later."
    Config = DelayConfig
    example = {"duration": "P3D"}

    def run(self, ctx: RunContext) -> Done | Wait:
        until = ctx.action_data.get("until")
        if until is None:
            moment = self._target(ctx)
            if moment > ctx.now:
                return Wait(moment, {**ctx.action_data, "until": moment.isoformat()})
            until = moment.isoformat()
        elif parse_timestamp(until) > ctx.now:
            return Wait(parse_timestamp(until), dict(ctx.action_data))
        return Done({"waitedUntil": until})

    def _target(self, ctx: RunContext) -> datetime:
        if ctx.config.get("until"):
            return parse_timestamp(ctx.config["until"])
        return ctx.now + parse_duration(ctx.config["duration"])
