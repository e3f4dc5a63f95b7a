from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import (
    JsonDict,
    JSONType,
    Model,
    UTCDateTime,
    created_at_column,
    updated_at_column,
)


class WorkflowTemplate(Model):
    __tablename__ = "workflow_templates"
    __table_args__ = (
        UniqueConstraint("org_id", "key", "version"),
        UniqueConstraint("org_id", "key", "checksum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="DRAFT")
    checksum: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A published version goes live here (None: at once); new workflows start from the
    # newest version already in effect.
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    steps: Mapped[list["TemplateStep"]] = relationship(
        back_populates="template",
        cascade="all, delete-orphan",
        order_by="TemplateStep.order",
        lazy="selectin",
    )


class TemplateStep(Model):
    __tablename__ = "template_steps"
    __table_args__ = (
        UniqueConstraint("template_id", "order"),
        UniqueConstraint("template_id", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_templates.id", ondelete="CASCADE")
    )
    order: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    action_type: Mapped[str] = mapped_column(String(50))
    action_config: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    role_scope: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    depends_on: Mapped[list[str] | None] = mapped_column(JSONType)
    condition: Mapped[str | None] = mapped_column(Text)
    on_failure: Mapped[str | None] = mapped_column(String(100))
    retry: Mapped[JsonDict | None] = mapped_column(JSONType)
    due_in: Mapped[str | None] = mapped_column(String(50))

    template: Mapped[WorkflowTemplate] = relationship(back_populates="steps")


Index("ix_workflow_templates_org_status", WorkflowTemplate.org_id, WorkflowTemplate.status)
