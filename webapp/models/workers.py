from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Model, UTCDateTime


class WorkerHeartbeat(Model):
    """Each worker's last sign of life: written every few seconds by its loop, read by the
    readiness probe (a queue nobody drains is not ready, however well the web answers)."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    jobs_run: Mapped[int] = mapped_column(Integer, default=0)
