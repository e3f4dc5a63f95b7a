from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from webapp.engine.actions.base import (
    ActionConfig,
    ActionContext,
    ActionHandler,
    Category,
    Outcome,
    validation_details,
)
from webapp.engine.actions.registry import register
from webapp.engine.errors import Unprocessable
from webapp.engine.roles import Role


class ApprovalConfig(ActionConfig):
    # Who approves is the step's roleScope ("Who approves" in the builder). approverRole
    # is kept for API clients that send it: it must then equal roleScope, and the
    # builder drops it when it saves.
    approver_role: Literal["LAWYER", "ADMIN"] | None = Field(
        default=None,
        alias="approverRole",
        description="Who approves (the same as the step's roleScope)",
        json_schema_extra={"deprecated": True},
    )
    message: str | None = Field(
        default=None, max_length=2000, description="What the approver is asked"
    )


class ApprovalDecision(BaseModel):
    approved: bool
    comment: str | None = Field(default=None, max_length=4000)


@register
class ApprovalHandler(ActionHandler):
    type = "APPROVAL_LAWYER"
    category = Category.HUMAN
    label = "Lawyer approval"
    description = "A lawyer approves or rejects; the decision is data later steps can branch on."
    Config = ApprovalConfig
    example = {"message": "Approve the engagement letter for {{ matter.reference }}?"}
    Payload = ApprovalDecision
    roles = (Role.LAWYER, Role.ADMIN)
    performed_by = "A lawyer approval is given by a lawyer or an admin"
    who_acts = "Who approves"

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        try:
            decision = ApprovalDecision.model_validate(payload)
        except ValidationError as error:
            raise Unprocessable(
                "An approval needs approved: true or false.", validation_details(error)
            ) from error
        output = {"approved": decision.approved, "comment": decision.comment or ""}
        return Outcome(action_data={**ctx.action_data, **output}, output=output)
