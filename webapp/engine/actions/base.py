"""The action-handler contract. A handler validates its config and payloads and returns
outcomes; it never touches the database session — the service persists what it returns."""

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from webapp.engine.errors import Unprocessable
from webapp.engine.states import StepEvent, StepState, next_step_state
from webapp.engine.wording import field_error_message


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
    and outbox jobs to enqueue in the same transaction."""

    action_data: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] | None = None
    external_ref: str | None = None
    jobs: list[dict[str, Any]] = field(default_factory=list)


def validation_details(error: ValidationError) -> list[dict[str, Any]]:
    """Each field error as {"field": dotted path, "message": a sentence in plain words}
    (engine/wording.py), for the API's 422 details and the forms' inline messages."""
    return [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "(root)",
            "message": field_error_message(err),
        }
        for err in error.errors(include_url=False)
    ]


class ActionHandler:
    type: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[type[ActionConfig]] = ActionConfig
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

    def next_state_on_event(
        self, ctx: ActionContext, event: StepEvent | str, state: str
    ) -> StepState:
        return next_step_state(state, event)
