import mimetypes
from typing import Any

from pydantic import Field

from webapp.engine.actions.base import ActionConfig, ActionContext, ActionHandler, Category, Outcome
from webapp.engine.actions.registry import register
from webapp.engine.errors import Unprocessable
from webapp.engine.roles import Role

# Magic numbers of the formats clients send most; a file claiming one of these
# extensions must start with the matching bytes.
SIGNATURES = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
}


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


def extension_of(filename: str) -> str:
    return "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


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

    def check_file(self, ctx: ActionContext, filename: str, head: bytes) -> str | None:
        """Why this file is refused, or None when it is acceptable."""
        extension = extension_of(filename)
        accepted = [normalize_type(t) for t in ctx.config.get("acceptedTypes") or []]
        if accepted and extension not in accepted:
            return (
                f"{filename}: only {', '.join(a.lstrip('.') for a in accepted)} files are accepted."
            )
        magic = SIGNATURES.get(extension)
        if magic and not head.startswith(magic):
            return f"{filename}: the content is not a valid {extension.lstrip('.')} file."
        return None

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        files = payload.get("files") or []
        if not files:
            raise Unprocessable(
                "Attach at least one file.", [{"field": "file", "message": "no file was sent"}]
            )
        uploaded = [*ctx.action_data.get("files", []), *files]
        return Outcome(action_data={**ctx.action_data, "files": uploaded}, output={"files": files})
