"""Retention: rows that served their moment — settled jobs, trigger firings, the one-use
tokens of forms, security events, request receipts — are deleted after an age, a small batch at a time, by the worker. Audit
rows, step attempts and dead letters are kept for ever."""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import InstrumentedAttribute

from webapp.extensions import db
from webapp.models import FormToken, Job, RequestReceipt, SecurityEvent, TriggerFiring
from webapp.persistence import faults
from webapp.persistence.transaction import transactional
from webapp.services.clock import now as clock_now
from webapp.services.outbox import DONE

log = logging.getLogger("matterflow.worker")

BATCH = 500  # rows of each kind per purge: short transactions, short locks


@dataclass(frozen=True)
class Purged:
    jobs: int = 0
    firings: int = 0
    form_tokens: int = 0
    security_events: int = 0
    request_receipts: int = 0

    def full(self, batch: int) -> bool:
        """Some kind filled its batch: there may be more to delete right away."""
        kinds = (self.jobs, self.firings, self.form_tokens, self.security_events)
        return max(*kinds, self.request_receipts) >= batch


@transactional
def purge(now: datetime, batch: int = BATCH) -> Purged:
    """One batch of each kind older than its retention (`…_RETENTION_DAYS`; 0 keeps them)."""
    return Purged(
        jobs=_purge_jobs(now, batch),
        firings=_purge_firings(now, batch),
        form_tokens=_purge_form_tokens(now, batch),
        security_events=_purge_oldest_by_id(
            SecurityEvent, _cutoff(now, "SECURITY_EVENT_RETENTION_DAYS"), batch
        ),
        request_receipts=_purge_oldest_by_id(
            RequestReceipt, _cutoff(now, "REQUEST_RECEIPT_RETENTION_DAYS"), batch
        ),
    )


def _cutoff(now: datetime, setting: str) -> datetime | None:
    days = current_app.config[setting]
    return now - timedelta(days=days) if days > 0 else None


def _purge_jobs(now: datetime, batch: int) -> int:
    """Settled jobs due before the cutoff, oldest first: the claim's own index
    (status, run_at, id) finds them without reading the rest."""
    cutoff = _cutoff(now, "JOB_RETENTION_DAYS")
    if cutoff is None:
        return 0
    picked = (
        select(Job.id)
        .where(Job.status == DONE, Job.run_at < cutoff)
        .order_by(Job.run_at, Job.id)
        .limit(batch)
    )
    return _delete(Job.id, list(db.session.scalars(picked)))


def _purge_firings(now: datetime, batch: int) -> int:
    return _purge_oldest_by_id(TriggerFiring, _cutoff(now, "FIRING_RETENTION_DAYS"), batch)


def _purge_oldest_by_id(model: Any, cutoff: datetime | None, batch: int) -> int:
    """Rows numbered in the order they happen (firings, security events): the oldest
    `batch` by id, of which those made before the cutoff go. No index on the time is
    needed, and a table with nothing to purge costs one short index read."""
    if cutoff is None:
        return 0
    oldest = db.session.execute(
        select(model.id, model.created_at).order_by(model.id).limit(batch)
    ).all()
    return _delete(model.id, [row.id for row in oldest if row.created_at < cutoff])


def _purge_form_tokens(now: datetime, batch: int) -> int:
    cutoff = _cutoff(now, "FORM_TOKEN_RETENTION_DAYS")
    if cutoff is None:
        return 0
    picked = (
        select(FormToken.token)
        .where(FormToken.created_at < cutoff)
        .order_by(FormToken.created_at)
        .limit(batch)
    )
    return _delete(FormToken.token, list(db.session.scalars(picked)))


def _delete(key: InstrumentedAttribute, values: list[Any]) -> int:
    if values:
        db.session.execute(delete(key.class_).where(key.in_(values)))
    return len(values)


_next_purge = [0.0]  # per process: when this worker purges again (time.monotonic)


def run_when_due() -> Purged | None:
    """The worker's purge: a batch every RETENTION_INTERVAL_SECONDS, or at once again while
    a batch comes back full. A purge that fails for another reason than the database is
    logged and tried at the next interval: it must never stop the queue."""
    started = time.monotonic()
    if started < _next_purge[0]:
        return None
    interval = current_app.config["RETENTION_INTERVAL_SECONDS"]
    try:
        purged = purge(clock_now())
    except Exception as error:
        if faults.database_fault(error):
            raise
        faults.drop_session()
        log.exception("The purge of old rows failed")
        _next_purge[0] = started + interval
        return None
    _next_purge[0] = started + (0 if purged.full(BATCH) else interval)
    return purged
