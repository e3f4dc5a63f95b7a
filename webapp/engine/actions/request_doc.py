import mimetypes
from typing import Any

from pydantic import Field

from webapp.engine.actions.base import ActionConfig, ActionContext, ActionHandler, Category, Outcome
from webapp.engine.actions.registry import register
from webapp.engine.errors import Unprocessable
from webapp.engine.roles import Role


class RequestDocConfig(ActionConfig):
    request_text: str = Field(
        alias="requestText", min_length=1, max_length=4000, description="What the client uploads"
    )
    accepted_types: list[str] | None = Field(
        default=None, alias="acceptedTypes", description="File extensions, e.g. pdf, docx"
    )


def normalize_type(value: str) -> str:
    value = value.strip().lower()
    if "/" in value:
        return mimetypes.guess_extension(value) or value
    return value if value.startswith(".") else f".{value}"


@register
class RequestDocHandler(ActionHandler):
    type = "REQUEST_DOC_CLIENT"
    category = Category.HUMAN
    label = "Document request"
    description = "The client uploads one or more files."
    Config = RequestDocConfig
    example = {
        "requestText": "Upload a copy of your passport and proof of address.",
        "acceptedTypes": ["pdf", "jpg", "png"],
    }
    roles = (Role.CLIENT,)
    performed_by = "A document request is answered by the client"

    def accepted_types(self, ctx: ActionContext) -> tuple[str, ...]:
        """The extensions the step names (".pdf"), none when it accepts every kind."""
        return tuple(normalize_type(t) for t in ctx.config.get("acceptedTypes") or [])

    def check_file(self, ctx: ActionContext, filename: str, kinds: tuple[str, ...]) -> str | None:
        """Why this file is refused by the step's accepted types, or None. `kinds`: the
        extensions of the kind its content was found to be (read from the bytes, never
        from the name), which must meet the step's list."""
        accepted = self.accepted_types(ctx)
        if accepted and not set(accepted) & set(kinds):
            return (
                f"{filename}: only {', '.join(a.lstrip('.') for a in accepted)} files are accepted."
            )
        return None

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        files = payload.get("files") or []
        if not files:
            raise Unprocessable(
                "Attach at least one file.", [{"field": "file", "message": "no file was sent"}]
            )
        uploaded = [*ctx.action_data.get("files", []), *files]
        return Outcome(action_data={**ctx.action_data, "files": uploaded}, output={"files": files})
