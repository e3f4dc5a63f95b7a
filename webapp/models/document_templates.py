from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import JSONType, Model, UTCDateTime, created_at_column, updated_at_column


class DocumentTemplateStatus:
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    ARCHIVED = "ARCHIVED"


class DocumentFormat:
    DOCX = "docx"
    HTML = "html"


class DocumentTemplate(Model):
    """One version of a firm's document template, versioned by `key` as workflow templates
    are: a draft changes in place, a published version never changes. A Word template's
    file is in storage (`storage_path`, by its sha256); an HTML template's text is `body`.
    `fields` are the merge fields the text reads, as found when it was saved."""

    __tablename__ = "document_templates"
    __table_args__ = (
        UniqueConstraint("org_id", "key", "version"),
        Index("ix_document_templates_org_status", "org_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=DocumentTemplateStatus.DRAFT)
    format: Mapped[str] = mapped_column(String(10))
    body: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(255))
    storage_path: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))  # of the file, or of the body
    fields: Mapped[list[dict[str, object]]] = mapped_column(JSONType, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
