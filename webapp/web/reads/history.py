"""The change history of an instance, newest first, a page at a time."""

from dataclasses import dataclass

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import InstanceStep, User
from webapp.services.instances import HistoryEntry, history_entries, require_definition_reader
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
    entries, total = history_entries(instance, limit, offset, newest_first=True)
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
