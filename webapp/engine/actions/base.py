"""The action-handler contract. A handler validates its config and payloads and returns
outcomes; it never touches the database session — the service persists what it returns."""

import builtins
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from webapp.engine.errors import Unprocessable


class ActionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


@dataclass
class ActionContext:
    """What a handler may read about the step it acts on."""

    step_id: int
    step_key: str
    config: dict[str, Any]
    action_data: dict[str, Any]
    instance_id: int = 0
    matter_id: int = 0
    actor_id: int | None = None
    providers: Any = None  # provider adapters (e-sign, payments), given by the service


@dataclass
class Outcome:
    """What the service persists: new working data, the step's output for `step_data`,
    and the provider's reference for the step (a signing session, a payment intent)."""

    action_data: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] | None = None
    external_ref: str | None = None


def validation_details(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(root)", "message": err["msg"]}
        for err in error.errors(include_url=False)
    ]


class ActionHandler:
    type: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[builtins.type[ActionConfig]] = ActionConfig  # `type` is the field above
    automated: ClassVar[bool] = False
    # Human steps completed through a provider webhook, not by a direct complete call.
    completes_by_webhook: ClassVar[bool] = False

    def validate_config(self, config: dict[str, Any] | None) -> dict[str, Any]:
        try:
            model = self.Config.model_validate(config or {})
        except ValidationError as error:
            raise Unprocessable(
                f"The {self.label} configuration is invalid.", validation_details(error)
            ) from error
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)

    def config_schema(self) -> dict[str, Any]:
        return self.Config.model_json_schema(by_alias=True)

    def can_start(self, ctx: ActionContext) -> bool:
        return True

    def start(self, ctx: ActionContext) -> Outcome:
        return Outcome(action_data=dict(ctx.action_data))

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        return Outcome(action_data=dict(ctx.action_data), output={})

    def fail(self, ctx: ActionContext, reason: str) -> Outcome:
        return Outcome(action_data={**ctx.action_data, "failureReason": reason})
