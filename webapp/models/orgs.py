from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.engine.roles import Role
from webapp.models.base import Model, UTCDateTime, created_at_column


class Organization(Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at_column()
    # Who takes the firm's payments and signatures (adapters/providers.py names them).
    payment_provider: Mapped[str] = mapped_column(
        String(40), default="sandbox", server_default="sandbox"
    )
    esign_provider: Mapped[str] = mapped_column(
        String(40), default="sandbox", server_default="sandbox"
    )
    # The firm's calendar (engine/calendars.py): due dates are counted in its timezone,
    # skipping the public holidays of country + subdivision and the firm's closure days.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    calendar_country: Mapped[str] = mapped_column(String(8), default="US", server_default="US")
    calendar_subdivision: Mapped[str | None] = mapped_column(String(16))
    # When people are reminded before a due time and the matter owner told after it;
    # a step's actionConfig may say otherwise (remindBefore, escalateAfter). None: never.
    remind_before: Mapped[str | None] = mapped_column(
        String(50), default="P1D", server_default="P1D"
    )
    escalate_after: Mapped[str | None] = mapped_column(
        String(50), default="PT0S", server_default="PT0S"
    )


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()
    # Moves on when the person signs out: every session begun before is refused
    # (webapp/security/sessions.py).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # How notification emails reach them (models/notifications.EmailPreference), and the
    # hour of the firm's day their digest goes out.
    email_preference: Mapped[str] = mapped_column(
        String(10), default="immediate", server_default="immediate"
    )
    digest_hour: Mapped[int] = mapped_column(Integer, default=8, server_default="8")

    org: Mapped[Organization] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of deactivated users
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def has_password(self) -> bool:
        """An invited person has none until they open their invitation."""
        return bool(self.password_hash)


class ApiToken(Model):
    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100), default="api")
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: never
    # Written at most once a minute per token (services/auth.py), not on every call.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class Invitation(Model):
    """A signed, expiring, one-use link to set a password. Sending a new one replaces the
    last (its `revoked_at` is set), so only the newest link works."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
