"""Which audit rows a person may see: one rule for the runner's trail and the API's
`/instances/{id}/events` alike.

Staff (admins, lawyers, paralegals who may see the instance) see every row of it, those
about steps removed since included: the trail is the record. A client sees the rows
about the instance itself and about the steps addressed to clients, nothing else; never
a row that carries the whole definition (a migration's before and after), which clients
do not read."""

from sqlalchemy import Select, func, or_, select

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import InstanceStep, User, WorkflowEvent, WorkflowInstance

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
