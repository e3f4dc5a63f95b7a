"""The action-handler contract. A handler validates its config and payloads and returns
outcomes; it never touches the database session — the service persists what it returns."""

import builtins
import copy
import functools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from webapp.engine.definition import normalize_due_in
from webapp.engine.errors import Unprocessable
from webapp.engine.roles import Role
from webapp.engine.wording import field_error_message


class Category(StrEnum):
    """What kind of work an action type does: the catalog, the builder's action picker
    and the action reference group the types by it."""

    HUMAN = "human"
    NOTIFICATION = "notification"
    DOCUMENT = "document"
    INTEGRATION = "integration"
    CONTROL = "control"
    DATA = "data"


# A step's own reminder and escalation offsets (services/deadlines.py), accepted beside
# any action type's settings: "P1D", "2 business days". Absent: the firm's defaults.
DEADLINE_KEYS = ("remindBefore", "escalateAfter")


def deadline_overrides(config: dict[str, Any]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The offsets `config` sets, stored as due times are, and the problems of the rest."""
    found: dict[str, str] = {}
    problems: list[dict[str, Any]] = []
    for key in DEADLINE_KEYS:
        value = config.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            found[key] = normalize_due_in(str(value))
        except ValueError as error:
            problems.append({"field": key, "message": str(error)})
    return found, problems


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
    documents: Any = None  # the matter's documents (services.documents.StepDocuments)


@dataclass
class Outcome:
    """What the service persists: new working data, the step's output for `step_data`,
    and the provider's reference for the step (a signing session, a payment intent)."""

    action_data: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] | None = None
    external_ref: str | None = None


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


@functools.cache
def _schema_of(config: type[ActionConfig]) -> dict[str, Any]:
    """A config model's JSON Schema, made once: pydantic takes milliseconds to build it, and
    every builder page shows two forms."""
    return config.model_json_schema(by_alias=True)


# Named outside the class: inside it, `type` is the handler's type name.
PayloadModel = type[BaseModel]


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list or annotation is list


class ActionHandler:
    type: ClassVar[str]
    category: ClassVar[Category]
    label: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[builtins.type[ActionConfig]] = ActionConfig  # `type` is the field above
    # A config that shows the type at work: the catalog's and the reference's example,
    # checked against the type's own Config by the tests.
    example: ClassVar[dict[str, Any]]
    automated: ClassVar[bool] = False
    # Human steps completed through a provider webhook, not by a direct complete call.
    completes_by_webhook: ClassVar[bool] = False
    # The completion payload's model: a form's fields are read by it (the browser sends
    # text; the model says which fields are lists and which are booleans).
    Payload: ClassVar[PayloadModel | None] = None

    def payload_from_form(self, fields: dict[str, list[str]]) -> dict[str, Any]:
        """A completion form's fields (each name with its values) as the payload the
        handler's model reads: a list field takes every value, any other the first one;
        pydantic then reads "true" as a boolean only where the model wants one."""
        if self.Payload is None:
            return {name: values[0] for name, values in fields.items() if values}
        payload: dict[str, Any] = {}
        for name, info in self.Payload.model_fields.items():
            key = info.alias or name
            values = fields.get(key) or fields.get(f"{key}[]")
            if values is None:
                continue
            payload[key] = values if _is_list(info.annotation) else values[0]
        return payload

    # The roles that may perform a step of this type, the first one the default; none
    # for automated types (the worker performs them, whoever the step is scoped to).
    roles: ClassVar[tuple[Role, ...]] = ()
    # How the refusal of another role reads: "A client payment is made by the client".
    performed_by: ClassVar[str] = ""
    # What the forms call the step's roleScope field.
    who_acts: ClassVar[str] = "Who acts"

    def allows_role(self, role: str) -> bool:
        return not self.roles or role in self.roles

    def role_problem(self, role: str) -> str | None:
        """Why `role` may not act on this type, in plain words, or None when it may."""
        if self.allows_role(role):
            return None
        names = " or ".join(r.title() for r in self.roles)
        return f"{self.performed_by}: choose {names} as who acts."

    def validate_config(self, config: dict[str, Any] | None) -> dict[str, Any]:
        settings = {k: v for k, v in (config or {}).items() if k not in DEADLINE_KEYS}
        deadlines, problems = deadline_overrides(config or {})
        try:
            model = self.Config.model_validate(settings)
        except ValidationError as error:
            problems += validation_details(error)
        if problems:
            raise Unprocessable(f"The {self.label} configuration is invalid.", problems)
        return {**model.model_dump(mode="json", by_alias=True, exclude_none=True), **deadlines}

    def config_schema(self) -> dict[str, Any]:
        return copy.deepcopy(_schema_of(self.Config))  # a copy: callers may change theirs

    def can_start(self, ctx: ActionContext) -> bool:
        return True

    def start(self, ctx: ActionContext) -> Outcome:
        return Outcome(action_data=dict(ctx.action_data))

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        return Outcome(action_data=dict(ctx.action_data), output={})

    def fail(self, ctx: ActionContext, reason: str) -> Outcome:
        return Outcome(action_data={**ctx.action_data, "failureReason": reason})
