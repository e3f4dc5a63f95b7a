from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import JsonDict, JSONType, Model, created_at_column


class WorkflowEvent(Model):
    """The append-only audit log. Nothing in the code updates or deletes a row; on
    PostgreSQL triggers reject any attempt, TRUNCATE included (migrations 0001 and 0011).
    Each row is sealed into its matter's hash chain (or its firm's, for rows about no
    matter): `prev_hash` is the hash of the chain's row before it, `hash` covers the row
    and `prev_hash` (persistence/audit_chain.py)."""

    __tablename__ = "workflow_events"
    __table_args__ = (
        Index("ix_workflow_events_instance", "instance_id", "id"),
        # A chain in order, its head last: the seal's one read, verify-audit, the export.
        Index("ix_workflow_events_chain", "org_id", "matter_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(Integer)
    matter_id: Mapped[int | None] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    step_id: Mapped[int | None] = mapped_column(Integer)
    template_id: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    event_type: Mapped[str] = mapped_column(String(60))
    old_status: Mapped[str | None] = mapped_column(String(30))
    new_status: Mapped[str | None] = mapped_column(String(30))
    payload: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class InstanceChange(Model):
    """Append-only change history of an instance's definition (its steps and metadata)."""

    __tablename__ = "instance_changes"
    __table_args__ = (Index("ix_instance_changes_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    change_type: Mapped[str] = mapped_column(String(40))
    detail: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = created_at_column()
