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


class MatterScreen(Model):
    """An ethical wall (ABA Model Rule 1.10): this person is kept away from this matter,
    for a reason an admin gave. While it stands the matter does not exist for them."""

    __tablename__ = "matter_screens"
    # The unique pair finds a matter's screens; (user, matter) serves the filter every
    # list applies: the matters screened from one person.
    __table_args__ = (
        UniqueConstraint("matter_id", "user_id"),
        Index("ix_matter_screens_user_id_matter_id", "user_id", "matter_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(2000))
    screened_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = created_at_column()

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    screened_by: Mapped[User | None] = relationship(foreign_keys=[screened_by_id], lazy="joined")


class WallHit(Model):
    """Evidence that a wall held: a screened person asked for something of the matter and
    was answered as if it did not exist. Ids, not foreign keys: the record outlives the
    screen being lifted and the matter being deleted, as the audit trail does."""

    __tablename__ = "wall_hits"
    __table_args__ = (Index("ix_wall_hits_matter_id_id", "matter_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column()
    matter_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column()
    attempted: Mapped[str] = mapped_column(String(300))  # "GET /api/v1/matters/7"
    created_at: Mapped[datetime] = created_at_column()
