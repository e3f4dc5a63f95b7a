from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Model, UTCDateTime, created_at_column


class Notification(Model):
    """Something one person is told in the app (the bell, /notifications): a step ready
    for them or assigned to them, due soon, overdue; a workflow of theirs failed; a job
    dead-lettered. Written in the transaction of the change that causes it."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The bell's count and the page: a person's notifications newest first, unread ones.
        Index("ix_notifications_user_read_id", "user_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    matter_id: Mapped[int | None] = mapped_column(Integer)
    step_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EmailPreference(StrEnum):
    """How a person wants notification emails: each at once (throttled), gathered into
    one a day at their digest hour, or none."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"
    OFF = "off"


class EmailItemKind(StrEnum):
    READY = "ready"
    ASSIGNED = "assigned"
    RECEIPT = "receipt"
    # A step's due time (services/deadlines.py): before it, at it, and to the matter owner.
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    ESCALATED = "escalated"


class DeliveryKind(StrEnum):
    IMMEDIATE = "immediate"  # one item, at once
    COMBINED = "combined"  # what waited out the throttle window, as one email
    DIGEST = "digest"
    RECEIPT = "receipt"


class DeliveryState(StrEnum):
    SENDING = "SENDING"  # claimed for sending; the SMTP call may or may not have happened
    SENT = "SENT"
    # A worker stopped between claiming and settling: the email may have gone out, so it
    # is never sent again (at most once, rather than twice to the same person).
    UNKNOWN = "UNKNOWN"


class EmailItem(Model):
    """One thing a person is to be told by email, keyed per (kind, step, person, the
    step's version): a repeated job finds its key and adds nothing. It waits until
    `send_after` and until a delivery carries it (`delivery_id`)."""

    __tablename__ = "email_items"
    __table_args__ = (Index("ix_email_items_user_waiting", "user_id", "delivery_id", "send_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    step_id: Mapped[int | None] = mapped_column(Integer)
    matter_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()
    send_after: Mapped[datetime] = mapped_column(UTCDateTime())
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("email_deliveries.id", ondelete="SET NULL")
    )


class EmailDelivery(Model):
    """One email to one person, claimed before the SMTP call and settled after it: what
    the throttle reads (the last immediate email) and what stops a retried job from
    sending the same items twice. `key` goes downstream as the Message-ID."""

    __tablename__ = "email_deliveries"
    __table_args__ = (Index("ix_email_deliveries_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(10))
    job_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
