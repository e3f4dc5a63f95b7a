"""Which audit rows a person may see: one rule for the runner's trail and the API's
`/instances/{id}/events` alike.

Staff (admins, lawyers, paralegals who may see the instance) see every row of it, those
about steps removed since included: the trail is the record. A client sees the rows
about the instance itself and about the steps addressed to clients, nothing else; never
a row that carries the whole definition (a migration's before and after), which clients
do not read.

A matter's whole trail, with its hash chain, is exported for the firm's staff (a
regulator's or a court's copy): read a page at a time, so a matter of 20,000 rows is
never held in memory at once."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select

from webapp.engine.errors import NotAllowed
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, Matter, User, WorkflowEvent, WorkflowInstance
from webapp.persistence.audit_chain import timestamp_text
from webapp.services.access import load_matter

EXPORT_PAGE = 500

# Rows whose payload names every step of the workflow.
DEFINITION_EVENTS = ("instance.migrated",)


def visible_query(instance: WorkflowInstance, user: User) -> Select:
    """The rule as a query, for a page that reads the rows a page at a time."""
    query = select(WorkflowEvent).where(WorkflowEvent.instance_id == instance.id)
    if user.role != Role.CLIENT:
        return query
    client_steps = select(InstanceStep.id).where(
        InstanceStep.instance_id == instance.id, InstanceStep.role_scope == Role.CLIENT
    )
    return query.where(
        or_(WorkflowEvent.step_id.is_(None), WorkflowEvent.step_id.in_(client_steps)),
        WorkflowEvent.event_type.not_in(DEFINITION_EVENTS),
    )


def visible_events(
    instance: WorkflowInstance,
    user: User,
    *,
    newest_first: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[WorkflowEvent], int]:
    """The rows this person may see of an instance they may see, and how many there are
    in all. The caller has checked that they may see the instance."""
    query = visible_query(instance, user)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = WorkflowEvent.id.desc() if newest_first else WorkflowEvent.id
    rows = db.session.scalars(query.order_by(order).offset(offset).limit(limit)).all()
    return list(rows), total


# ---- a matter's trail, exported ---------------------------------------------------------

# The exported fields, in the order a CSV lists them: every column the hash covers (as it
# covers them: `createdAt` is the hashed text), then the chain.
EXPORT_FIELDS = (
    ("id", "id"),
    ("orgId", "org_id"),
    ("matterId", "matter_id"),
    ("instanceId", "instance_id"),
    ("stepId", "step_id"),
    ("templateId", "template_id"),
    ("actorId", "actor_id"),
    ("eventType", "event_type"),
    ("oldStatus", "old_status"),
    ("newStatus", "new_status"),
    ("payload", "payload"),
    ("requestId", "request_id"),
    ("createdAt", "created_at"),
    ("prevHash", "prev_hash"),
    ("hash", "hash"),
)


@dataclass
class Trail:
    """A matter's audit rows, oldest first, as plain dicts keyed by the export's names."""

    matter: Matter
    total: int
    rows: Iterator[dict[str, Any]]


def matter_trail(user: User, matter_id: int) -> Trail:
    """Every audit row of a matter the person may see, with its hashes. Staff only: a
    client sees a narrower trail on the pages and never the chain."""
    matter = load_matter(matter_id, user)
    if user.role == Role.CLIENT:
        raise NotAllowed("The audit export is for the firm's staff.")
    table = WorkflowEvent.__table__
    total = db.session.scalar(
        select(func.count()).where(table.c.org_id == matter.org_id, table.c.matter_id == matter.id)
    )
    return Trail(matter, total or 0, _pages(matter.org_id, matter.id))


def _pages(org_id: int, matter_id: int) -> Iterator[dict[str, Any]]:
    """The rows a page at a time, each page after the last id of the one before (the
    chain index serves every page)."""
    table = WorkflowEvent.__table__
    after = 0
    while True:
        page = db.session.execute(
            select(table)
            .where(table.c.org_id == org_id, table.c.matter_id == matter_id, table.c.id > after)
            .order_by(table.c.id)
            .limit(EXPORT_PAGE)
        ).mappings()
        count = 0
        for row in page:
            count += 1
            after = row["id"]
            yield exported(row)
        if count < EXPORT_PAGE:
            return


def exported(row: Any) -> dict[str, Any]:
    out = {name: row[column] for name, column in EXPORT_FIELDS}
    out["createdAt"] = timestamp_text(row["created_at"])
    return out
