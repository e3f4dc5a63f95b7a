from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import (
    JsonDict,
    JSONType,
    Model,
    UTCDateTime,
    created_at_column,
    updated_at_column,
)
from webapp.models.matters import Matter


class WorkflowInstance(Model):
    __tablename__ = "workflow_instances"
    __table_args__ = (
        Index("ix_workflow_instances_matter_status", "matter_id", "status"),
        Index("ix_workflow_instances_status", "status"),
        Index("ix_workflow_instances_org_request", "org_id", "request_id", unique=True),
        # The API's list, newest first, a page at a time from a cursor.
        Index("ix_workflow_instances_org_id_id", "org_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_templates.id", ondelete="SET NULL")
    )
    template_version: Mapped[int] = mapped_column(Integer)
    base_ref: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(30), default="Created")
    current_step: Mapped[int] = mapped_column(Integer, default=0)
    context: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    step_data: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    trigger_type: Mapped[str] = mapped_column(String(30), default="manual")
    trigger_data: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    parent_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_instances.id", ondelete="SET NULL")
    )
    parent_step_id: Mapped[int | None] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    matter: Mapped[Matter] = relationship(lazy="joined")
    steps: Mapped[list["InstanceStep"]] = relationship(
        back_populates="instance",
        cascade="all, delete-orphan",
        order_by="InstanceStep.order",
        lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": version_id}


class InstanceStep(Model):
    __tablename__ = "instance_steps"
    __table_args__ = (
        # Also finds an instance's first pending step without reading the others.
        Index("ix_instance_steps_instance_state_order", "instance_id", "action_state", "order"),
        Index("ix_instance_steps_external_ref", "external_ref"),
        # The open steps of a whole firm (an admin's inbox) without reading the done ones.
        Index("ix_instance_steps_state_due", "action_state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_instances.id", ondelete="CASCADE")
    )
    template_step_id: Mapped[int | None] = mapped_column(
        ForeignKey("template_steps.id", ondelete="SET NULL")
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
    action_state: Mapped[str] = mapped_column(String(20), default="PENDING")
    action_data: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    external_ref: Mapped[str | None] = mapped_column(String(100))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    instance: Mapped[WorkflowInstance] = relationship(back_populates="steps")

    __mapper_args__ = {"version_id_col": version_id}
