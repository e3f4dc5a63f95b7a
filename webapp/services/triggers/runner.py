"""The worker's side of event triggers: an event job (written in the transaction that
caused the event, services/events.py) fires every enabled trigger of the firm waiting for
its type. The firings and the job's settlement are one transaction, and each firing's key
is the event's, so an event delivered again after a worker died fires each trigger once."""

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Trigger
from webapp.models.triggers import TriggerKind
from webapp.persistence.transaction import transactional
from webapp.services import outbox
from webapp.services.clock import now
from webapp.services.triggers.firing import fire


@transactional
def run_event_job(claimed: outbox.Claimed, worker_id: str) -> None:
    job = outbox.own_job(claimed.id, worker_id)
    if job is None:
        return
    event = dict(job.payload or {})
    triggers = db.session.scalars(
        select(Trigger)
        .where(
            Trigger.org_id == job.org_id,
            Trigger.kind == TriggerKind.EVENT,
            Trigger.event_type == event.get("type"),
            Trigger.enabled,
        )
        .order_by(Trigger.id)
    ).all()
    at = now()
    matter_id = event.get("matterId")
    for trigger in triggers:
        fire(trigger, job.dedupe_key or f"job:{job.id}", event, at, matter_id)
    outbox.mark_done(job, f"{len(triggers)} trigger(s) fired")
