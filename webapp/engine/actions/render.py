"""`core.render_document`: fills a published document template for the step's matter and
files the result on it. The worker reads the template and the merge data before the
call, renders after the commit, and files the document when the call comes back
(services/effects.py); the step outputs `{documentId, name, sha256}`."""

from typing import Literal

from pydantic import Field

from webapp.engine.actions.automated import AutomatedHandler, Call, RunContext
from webapp.engine.actions.base import ActionConfig, Category
from webapp.engine.actions.registry import register


class RenderConfig(ActionConfig):
    template_key: str = Field(
        alias="templateKey",
        min_length=1,
        max_length=100,
        description="Key of the document template (its newest published version)",
    )
    version: int | None = Field(
        default=None, ge=1, description="A published version to use instead of the newest"
    )
    format: Literal["pdf", "docx"] = Field(
        default="pdf", description="pdf, or docx (Word templates only)"
    )
    name: str = Field(
        default="", max_length=200, description="File name of the document (templated)"
    )
    share_with_client: bool = Field(
        default=False, alias="shareWithClient", description="Clients on the matter may open it"
    )


@register
class RenderDocumentHandler(AutomatedHandler):
    type = "core.render_document"
    category = Category.DOCUMENT
    label = "Render a document"
    description = (
        "Fills a published document template (Word or HTML) with the matter's data and "
        "files the PDF or DOCX on the matter."
    )
    Config = RenderConfig
    example = {
        "templateKey": "engagement_letter",
        "format": "pdf",
        "name": "Engagement letter {{ matter.reference }}",
        "shareWithClient": True,
    }

    def run(self, ctx: RunContext) -> Call:
        return Call("render", dict(ctx.config))
