from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Model, created_at_column


class DocumentSource:
    UPLOAD = "upload"
    RENDER = "render"
    SIGNATURE = "signature"


class Document(Model):
    """One version of a matter's document. Versions of one document share `lineage_id`
    (the id of its first version) and count up from 1; a new version never changes an
    older one."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_matter_lineage", "matter_id", "lineage_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(Integer, index=True)
    matter_id: Mapped[int | None] = mapped_column(
        ForeignKey("matters.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[int | None] = mapped_column(
        ForeignKey("instance_steps.id", ondelete="SET NULL"), index=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at_column()
    # None only while the first version is being inserted (file_document sets it).
    lineage_id: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    source: Mapped[str] = mapped_column(
        String(20), default=DocumentSource.UPLOAD, server_default=DocumentSource.UPLOAD
    )
    shared_with_client: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
