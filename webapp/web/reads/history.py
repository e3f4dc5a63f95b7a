"""The change history of an instance, newest first, a page at a time."""

from dataclasses import dataclass

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import InstanceChange, InstanceStep, User
from webapp.services.instances import HistoryEntry, require_definition_reader
from webapp.web.reads.common import instance_and_access


@dataclass
class HistoryPage:
    entries: list[HistoryEntry]  # newest first
    total: int
    offset: int
    titles: dict[str, str]  # step key -> title, for entries that name a step by key

    @property
    def next_offset(self) -> int | None:
        following = self.offset + len(self.entries)
        return following if following < self.total else None


def history_page(
    user: User, matter_id: int, instance_id: int, limit: int = 8, offset: int = 0
) -> HistoryPage:
    """A page of the definition's change history, newest first: a count, the page's
    rows with their authors' names, and the steps' titles (one light row per step)."""
    instance, _access = instance_and_access(user, matter_id, instance_id)
    require_definition_reader(user)
    where = InstanceChange.instance_id == instance.id
    total = db.session.scalar(select(func.count()).where(where)) or 0
    rows = db.session.execute(
        select(InstanceChange, User.name)
        .outerjoin(User, User.id == InstanceChange.actor_id)
        .where(where)
        .order_by(InstanceChange.id.desc())
        .limit(limit)
        .offset(offset)
    )
    entries = [
        HistoryEntry(
            id=change.id,
            change_type=change.change_type,
            detail=change.detail or {},
            actor_id=change.actor_id,
            actor_name=name,
            created_at=change.created_at,
        )
        for change, name in rows
    ]
    titles: dict[str, str] = {}
    if entries:
        titles = dict(
            db.session.execute(
                select(InstanceStep.key, InstanceStep.title).where(
                    InstanceStep.instance_id == instance.id
                )
            ).all()
        )
    return HistoryPage(entries, total, offset, titles)
