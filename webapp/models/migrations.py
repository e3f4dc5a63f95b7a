from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import JSONType, Model, UTCDateTime, created_at_column, updated_at_column


class MigrationRun(Model):
    """A bulk move of a template's running instances from one version to another, worked
    off by the worker in batches; its counts are the progress the page shows."""

    __tablename__ = "migration_runs"
    __table_args__ = (Index("ix_migration_runs_template_id_id", "template_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    template_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_templates.id", ondelete="CASCADE")
    )  # the version moved to
    template_key: Mapped[str] = mapped_column(String(100))
    from_version: Mapped[int] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    total: Mapped[int] = mapped_column(Integer, default=0)
    migrated: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # The last instance id a batch looked at: the next batch starts after it.
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def processed(self) -> int:
        return self.migrated + self.blocked + self.failed


class MigrationRunItem(Model):
    """What happened to one instance in a run: migrated, blocked (and why) or failed."""

    __tablename__ = "migration_run_items"
    __table_args__ = (UniqueConstraint("run_id", "instance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("migration_runs.id", ondelete="CASCADE"))
    instance_id: Mapped[int] = mapped_column(Integer)
    matter_id: Mapped[int] = mapped_column(Integer)
    matter_reference: Mapped[str] = mapped_column(String(100))
    instance_title: Mapped[str] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = created_at_column()
