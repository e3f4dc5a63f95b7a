from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from webapp.engine.actions.base import ActionConfig, ActionContext, ActionHandler, Category, Outcome
from webapp.engine.actions.registry import register
from webapp.engine.definition import STEP_KEY_PATTERN
from webapp.engine.errors import Unprocessable
from webapp.engine.roles import Role


class SignatureConfig(ActionConfig):
    document_from: str | None = Field(
        default=None,
        alias="documentFrom",
        pattern=STEP_KEY_PATTERN,
        description="The key of an earlier step whose output has documentId (e.g. a "
        "core.render_document step); give this or documentId",
    )
    # After documentFrom, so that its check sees it; checked even when left out.
    document_id: int | None = Field(
        default=None,
        alias="documentId",
        ge=1,
        le=2**31 - 1,
        validate_default=True,
        description="The matter document the client signs (its id; a PDF); give this "
        "or documentFrom",
    )
    provider: Literal["sandbox", "dropbox_sign"] | None = Field(
        default=None,
        description="E-signature provider (sandbox or dropbox_sign); empty: the firm's choice",
    )

    @field_validator("document_id")
    @classmethod
    def names_one_document(cls, value: int | None, info: ValidationInfo) -> int | None:
        if (value is None) == (info.data.get("document_from") is None):
            raise ValueError(
                "name the document to sign: a matter document's id, or documentFrom (the "
                "step that made it), not both"
            )
        return value


# What the step door records when a provider's webhook brought the signed copy
# (services/steps/applying.file_signed_copy).
SIGNED_COPY = ("signedDocumentId", "originalSha256", "signedSha256")


@register
class SignatureHandler(ActionHandler):
    """The client signs a real matter document: starting the step finds the document
    (`documentId`, or the `documentId` output of the step `documentFrom`) and opens the
    provider's session on it. The signed copy is filed as the document's next version:
    the one a provider's webhook brought (filed by the door before `complete`), or the one
    the provider makes on request (the sandbox stamps a signature page), through
    `ctx.documents`, which the service gives."""

    type = "SIGNATURE_CLIENT"
    category = Category.HUMAN
    label = "Client signature"
    description = "The client signs a matter document with the e-signature provider."
    Config = SignatureConfig
    example = {"documentFrom": "draft_letter", "provider": "sandbox"}
    roles = (Role.CLIENT,)
    performed_by = "A client signature is given by the client"
    completes_by_webhook = True

    def validate_config(self, config: dict[str, Any] | None) -> dict[str, Any]:
        """pydantic names a field checked from its default by its Python name: the
        refusal of a config without a document names documentId, as the form does."""
        try:
            return super().validate_config(config)
        except Unprocessable as error:
            for detail in error.details or []:
                if detail.get("field") == "document_id":
                    detail["field"] = "documentId"
            raise

    def start(self, ctx: ActionContext) -> Outcome:
        document = ctx.documents.to_sign(ctx.config)
        esign = ctx.providers.esign(ctx.config.get("provider"))  # empty: the firm's choice
        session = esign.open_session(ctx.step_id, str(document["documentId"]))
        data = {**ctx.action_data, **session, "document": document}
        return Outcome(action_data=data, external_ref=session["sessionId"])

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        if payload.get("event") != "signed":
            raise Unprocessable("The provider did not report a signature.", payload)
        data = ctx.action_data
        if data.get("signedDocumentId") is not None:
            signed = {
                "documentId": data["signedDocumentId"],
                "sha256": data.get("signedSha256"),
                "originalSha256": data.get("originalSha256"),
            }
        else:
            signed = ctx.documents.file_signed(data, payload)
        output = {
            "signed": True,
            "signedAt": payload.get("signedAt"),
            "documentId": signed["documentId"],
            "signedDocument": signed,
            "signedDocumentId": signed["documentId"],
            "signedSha256": signed.get("sha256"),
            "originalSha256": signed.get("originalSha256"),
        }
        return Outcome(action_data={**data, **output}, output=output)
