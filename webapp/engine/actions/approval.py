from typing import Any

from pydantic import BaseModel, Field, ValidationError

from webapp.engine.actions.base import (
    ActionConfig,
    ActionContext,
    ActionHandler,
    Outcome,
    validation_details,
)
from webapp.engine.actions.registry import register
from webapp.engine.errors import Unprocessable
from webapp.engine.roles import Role


class ApprovalConfig(ActionConfig):
    approver_role: Role = Field(
        default=Role.LAWYER, alias="approverRole", description="Who approves"
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
    label = "Lawyer approval"
    description = "A lawyer approves or rejects; the decision is data later steps can branch on."
    Config = ApprovalConfig
    Payload = ApprovalDecision

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        try:
            decision = ApprovalDecision.model_validate(payload)
        except ValidationError as error:
            raise Unprocessable(
                "An approval needs approved: true or false.", validation_details(error)
            ) from error
        output = {"approved": decision.approved, "comment": decision.comment or ""}
        return Outcome(action_data={**ctx.action_data, **output}, output=output)
