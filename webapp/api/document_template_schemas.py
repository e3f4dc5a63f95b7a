"""Request and response bodies of document templates (camelCase on the wire)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from webapp.api.schemas import Omitted, Patch, RowId, Schema

NAME_PATTERN = r"^[ \t]*[^ \t\r\n][^\r\n]*$"
KEY_PATTERN = r"^[a-z][a-z0-9_-]{0,99}$"
# Constraints sit on the text itself, so that a null where the field may only be left out
# is refused as null (422), not checked against a pattern.
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN)]
Key = Annotated[str, Field(pattern=KEY_PATTERN, description="Derived from the name")]
Body = Annotated[str, Field(min_length=1, max_length=500_000, description="The template's HTML")]


class DocumentTemplateIn(Schema):
    """An HTML template written in the request; a Word template is sent as multipart
    form data instead (`file` and `name`, and `key` if wanted)."""

    name: Name
    format: Literal["html"] = Field(description="html (a Word file is sent as multipart)")
    body: Body
    key: Key | Omitted = None

    @model_validator(mode="before")
    @classmethod
    def refuse_null_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "key" in data and data["key"] is None:
            raise ValueError("key cannot be null; leave it out to derive it from the name.")
        return data


class DocumentTemplatePatch(Patch):
    """A Word template's new file is sent as multipart form data (`file`, `name`?)."""

    name: Name | Omitted = None
    body: Body | Omitted = None


class MergeField(Schema):
    path: str = Field(description='e.g. "matter.owner.name", "matter.parties[].email"')
    known: bool = Field(description="false: no merge data provides it (publishing is refused)")


class DocumentTemplateOut(Schema):
    id: int
    key: str
    version: int
    name: str
    status: Literal["DRAFT", "PUBLISHED", "ARCHIVED"]
    format: Literal["docx", "html"]
    body: str | None = Field(description="The HTML of an HTML template")
    file_name: str | None = Field(description="The Word file's name, of a Word template")
    sha256: str = Field(description="Of the Word file, or of the HTML body")
    fields: list[MergeField]
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DocumentTemplateList(Schema):
    items: list[DocumentTemplateOut]
    total: int


class FieldList(Schema):
    items: list[MergeField]
    unknown: list[str] = Field(description="The fields no merge data provides")
    known_fields: list[str] = Field(description="Every field the merge data provides")


class RenderIn(Schema):
    matter_id: RowId
    instance_id: RowId | Omitted = Field(
        None,
        description="A workflow of the matter: its "
        "parameters and step outputs fill instance and steps",
    )
    format: Literal["pdf", "docx"] = Field(description="docx for Word templates only")
