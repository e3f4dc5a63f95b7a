from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import JSONType, Model, created_at_column


class SecurityEventKind(StrEnum):
    SIGN_IN_SUCCEEDED = "sign_in.succeeded"
    SIGN_IN_FAILED = "sign_in.failed"
    SIGN_IN_THROTTLED = "sign_in.throttled"
    SIGNED_OUT = "sign_out"
    TOKEN_USED = "token.used"
    ACCESS_REFUSED = "access.refused"
    CSRF_FAILED = "csrf.failed"
    WALL_HIT = "wall.hit"


class SecurityEvent(Model):
    """Something a firm's admins review: sign-ins, token use, refused accesses, CSRF
    failures, ethical-wall hits. Written in a transaction of its own, so a refused request
    (whose own transaction rolled back) is still recorded. `org_id` is empty when no firm
    is known (a wrong password for an account that does not exist)."""

    __tablename__ = "security_events"
    __table_args__ = (
        # The admin page: a firm's events newest first, optionally of one kind (keyset by id).
        Index("ix_security_events_org_id_id", "org_id", "id"),
        Index("ix_security_events_org_kind_id", "org_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    # Who acted, when known; not a foreign key: the record outlives the person's row.
    user_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = created_at_column()
