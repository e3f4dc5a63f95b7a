from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import (
    JsonDict,
    JSONType,
    Model,
    UTCDateTime,
    created_at_column,
    updated_at_column,
    utcnow,
)


class Job(Model):
    """Transactional outbox: written in the same commit as the state change that causes it."""

    __tablename__ = "jobs"
    __table_args__ = (
        # The claim reads the first due jobs in this order and no others.
        Index("ix_jobs_status_run_at_id", "status", "run_at", "id"),
        # The firm's jobs by status (the operations page, the dead letters, newest first).
        Index("ix_jobs_org_status_id", "org_id", "status", "id"),
        Index("ix_jobs_status_locked_until", "status", "locked_until"),
        Index("ix_jobs_dedupe_key", "dedupe_key", unique=True),
        Index("ix_jobs_instance_id", "instance_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(Integer)
    # The instance a job works for, so resuming an instance can wake its parked jobs.
    instance_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    status: Mapped[str] = mapped_column(String(10), default="PENDING")
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    # The request that enqueued the job: its W3C traceparent (tracing on) and request id,
    # so the worker's run joins its trace and its audit rows carry its id.
    trace_context: Mapped[JsonDict | None] = mapped_column(JSONType, nullable=True)


class StepAttempt(Model):
    """One run of an automated step by the worker: what it was given, what came back."""

    __tablename__ = "step_attempts"
    __table_args__ = (
        UniqueConstraint("step_id", "number"),
        Index("ix_step_attempts_instance", "instance_id", "step_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_instances.id", ondelete="CASCADE")
    )
    step_id: Mapped[int] = mapped_column(ForeignKey("instance_steps.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="RUNNING")
    inputs: Mapped[JsonDict] = mapped_column(JSONType, default=dict)
    output: Mapped[JsonDict | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    worker_id: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
