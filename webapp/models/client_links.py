"""A client's one-step link (`/c/<token>`): the READY email to a client carries it, and it
opens that one step and nothing else of the matter. The token is signed (itsdangerous)
and names this row, which makes it single use and revocable; no usable token is stored."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Model, UTCDateTime, created_at_column
from webapp.models.instances import InstanceStep
from webapp.models.orgs import User


class ClientLink(Model):
    __tablename__ = "client_links"
    __table_args__ = (Index("ix_client_links_step_id_id", "step_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    step_id: Mapped[int] = mapped_column(ForeignKey("instance_steps.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    step: Mapped[InstanceStep] = relationship(lazy="joined")
