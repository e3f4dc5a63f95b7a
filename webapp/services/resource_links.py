"""What an action or a provider call created outside, so a retry or a rescued job finds it
instead of creating it again. Recorded in the transaction of the outcome it belongs to."""

from sqlalchemy import select

from webapp.engine.actions.automated import idempotency_key
from webapp.extensions import db
from webapp.models import ResourceLink

__all__ = ["find", "for_step", "idempotency_key", "record"]


def find(provider: str, key: str) -> ResourceLink | None:
    return db.session.scalar(
        select(ResourceLink).where(
            ResourceLink.provider == provider, ResourceLink.idempotency_key == key
        )
    )


def record(
    *,
    org_id: int,
    step_id: int | None,
    provider: str,
    kind: str,
    external_id: str,
    key: str,
    url: str = "",
    attempt: int = 1,
) -> ResourceLink:
    link = find(provider, key)
    if link is None:
        link = ResourceLink(
            org_id=org_id,
            step_id=step_id,
            provider=provider,
            kind=kind,
            external_id=external_id,
            idempotency_key=key,
            url=url,
            attempt=attempt,
        )
        db.session.add(link)
        db.session.flush()
    return link


def for_step(step_id: int) -> list[ResourceLink]:
    return list(
        db.session.scalars(
            select(ResourceLink).where(ResourceLink.step_id == step_id).order_by(ResourceLink.id)
        )
    )
