"""Request and response bodies of matter documents (camelCase on the wire)."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from webapp.api.schemas import Patch, Schema


class DocumentOut(Schema):
    id: int
    matter_id: int
    lineage_id: int = Field(description="The id of the document's first version")
    version: int
    name: str
    content_type: str = Field(description="Found from the file's bytes, not its name")
    size: int
    sha256: str
    source: Literal["upload", "render", "signature"]
    step_id: int | None
    uploaded_by_id: int | None
    shared_with_client: bool = Field(description="Shared for every version of the document")
    created_at: datetime
    content_url: str = Field(description="Where its bytes are downloaded")


class DocumentList(Schema):
    items: list[DocumentOut]
    total: int


class DocumentPatch(Patch):
    shared_with_client: bool = Field(
        description="Share the document (every version) with the matter's clients, or stop"
    )
