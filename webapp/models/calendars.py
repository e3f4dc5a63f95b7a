from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Model, created_at_column


class FirmClosure(Model):
    """A day the firm (or the court it files with) is closed: no business or court day
    counts it, and a due date that lands on it rolls forward (engine/calendars.py)."""

    __tablename__ = "firm_closures"
    __table_args__ = (UniqueConstraint("org_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = created_at_column()


class CalendarFeed(Model):
    """A person's private calendar feed. The feed's URL carries a token signed with the
    app's secret over the user and `nonce`; a reset draws a new nonce, so the old URL no
    longer verifies (services/calendar_feeds.py)."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True, index=True
    )
    nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
