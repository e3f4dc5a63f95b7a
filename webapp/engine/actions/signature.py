from typing import Any

from pydantic import Field

from webapp.engine.actions.base import ActionConfig, ActionContext, ActionHandler, Category, Outcome
from webapp.engine.actions.registry import register
from webapp.engine.errors import Unprocessable
from webapp.engine.roles import Role


class SignatureConfig(ActionConfig):
    document_id: str = Field(
        alias="documentId", min_length=1, description="The document the client signs"
    )
    provider: str = Field(default="sandbox", description="E-signature provider")


@register
class SignatureHandler(ActionHandler):
    type = "SIGNATURE_CLIENT"
    category = Category.HUMAN
    label = "Client signature"
    description = "The client signs a document with the e-signature provider."
    Config = SignatureConfig
    example = {"documentId": "engagement-letter", "provider": "sandbox"}
    roles = (Role.CLIENT,)
    performed_by = "A client signature is given by the client"
    completes_by_webhook = True

    def start(self, ctx: ActionContext) -> Outcome:
        provider = ctx.config.get("provider", "sandbox")
        session = ctx.providers.esign(provider).open_session(ctx.step_id, ctx.config["documentId"])
        data = {**ctx.action_data, "provider": provider, **session}
        return Outcome(action_data=data, external_ref=session["sessionId"])

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        if payload.get("event") != "signed":
            raise Unprocessable("The provider did not report a signature.", payload)
        output = {"signed": True, "signedAt": payload.get("signedAt")}
        return Outcome(action_data={**ctx.action_data, **output}, output=output)
