from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Model, created_at_column


class FormToken(Model):
    """A form or HTMX request that changed something, by its one-use token: written in
    the same commit as the change, so the same token sent again changes nothing and is
    answered as the first was (`location`, once the first answer was a redirect)."""

    __tablename__ = "form_tokens"
    __table_args__ = (Index("ix_form_tokens_created_at", "created_at"),)

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[int | None] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = created_at_column()
