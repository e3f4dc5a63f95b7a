from typing import Any, Literal

from pydantic import Field

from webapp.engine.actions.base import ActionConfig, ActionContext, ActionHandler, Category, Outcome
from webapp.engine.actions.registry import register
from webapp.engine.errors import Unprocessable
from webapp.engine.roles import Role


class SignatureConfig(ActionConfig):
    document_id: str = Field(
        alias="documentId", min_length=1, description="The document the client signs"
    )
    provider: Literal["sandbox", "dropbox_sign"] | None = Field(
        default=None,
        description="E-signature provider (sandbox or dropbox_sign); empty: the firm's choice",
    )


SIGNED_COPY = ("signedDocumentId", "originalSha256", "signedSha256")


@register
class SignatureHandler(ActionHandler):
    type = "SIGNATURE_CLIENT"
    category = Category.HUMAN
    label = "Client signature"
    description = "The client signs a document with the e-signature provider."
    Config = SignatureConfig
    example = {"documentId": "engagement-letter"}
    roles = (Role.CLIENT,)
    performed_by = "A client signature is given by the client"
    completes_by_webhook = True

    def start(self, ctx: ActionContext) -> Outcome:
        esign = ctx.providers.esign(ctx.config.get("provider"))  # empty: the firm's choice
        session = esign.open_session(ctx.step_id, ctx.config["documentId"])
        data = {**ctx.action_data, **session}
        return Outcome(action_data=data, external_ref=session["sessionId"])

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        if payload.get("event") != "signed":
            raise Unprocessable("The provider did not report a signature.", payload)
        output = {"signed": True, "signedAt": payload.get("signedAt")}
        # The signed copy a provider returned (services/steps/applying.file_signed_copy).
        output.update({k: ctx.action_data[k] for k in SIGNED_COPY if k in ctx.action_data})
        return Outcome(action_data={**ctx.action_data, **output}, output=output)
