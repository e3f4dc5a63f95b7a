from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Model, created_at_column, updated_at_column
from webapp.models.orgs import User


class Matter(Model):
    __tablename__ = "matters"
    # The firm's matters by reference: the unique pair serves the list's keyset order.
    __table_args__ = (
        UniqueConstraint("org_id", "reference"),
        Index("ix_matters_owner_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    reference: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="OPEN")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    owner: Mapped[User] = relationship(lazy="joined")
    members: Mapped[list["MatterMember"]] = relationship(
        back_populates="matter", cascade="all, delete-orphan", lazy="selectin"
    )


class MatterMember(Model):
    __tablename__ = "matter_members"
    __table_args__ = (UniqueConstraint("matter_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))

    matter: Mapped[Matter] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")
