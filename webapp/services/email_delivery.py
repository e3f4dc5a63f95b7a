"""Sending a person's waiting email items (`notify.email` jobs), once each.

A job claims what is due for its person in one transaction (a delivery row per email,
its items bound to it, the person's row locked so two workers never both pass the
throttle), sends over SMTP, then settles in a second transaction. A worker that stops
between the two leaves its deliveries SENDING: the job, rescued, finds them, marks them
UNKNOWN and sends nothing again — at most once, never twice to the same person for the
same step. An SMTP refusal puts the items back to wait for the job's next attempt.

What goes out: a receipt alone and at once; else one email with everything due — one
item (`immediate`), what waited out the throttle window (`combined`), or the day's
`digest`. The throttle: one immediate email per person per EMAIL_THROTTLE_MINUTES."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload

from webapp.adapters.mail import build_message, deliver
from webapp.engine.actions import get_handler
from webapp.engine.actions.automated import ActionFailed
from webapp.engine.roles import Role
from webapp.engine.states import StepState
from webapp.engine.text import one_line
from webapp.extensions import db
from webapp.models import (
    DeliveryKind,
    DeliveryState,
    EmailDelivery,
    EmailItem,
    EmailItemKind,
    EmailPreference,
    InstanceStep,
    User,
    WorkflowInstance,
)
from webapp.models.base import utcnow
from webapp.persistence.transaction import transactional
from webapp.services import outbox
from webapp.services.clock import now as clock_now
from webapp.services.notifications import (
    firm_timezone,
    preferences_link,
    schedule_delivery,
    step_link_for,
    throttle_ends,
)

BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class Prepared:
    delivery_id: int
    message: EmailMessage


def run_email_job(job: outbox.Claimed, worker_id: str) -> None:
    prepared = prepare_emails(job.id, worker_id)
    if not prepared:
        return
    sent: list[int] = []
    error = None
    for one in prepared:
        try:
            deliver(one.message)
        except ActionFailed as failure:
            error = failure.message
            break
        sent.append(one.delivery_id)
    unsent = [one.delivery_id for one in prepared if one.delivery_id not in sent]
    settle_emails(job.id, worker_id, sent, unsent, error)


@transactional
def prepare_emails(job_id: int, worker_id: str) -> list[Prepared]:
    """The emails to send now, claimed; empty when there is none (the job is settled or
    waits for its time)."""
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return []
    job.attempts += 1
    if not current_app.config["NOTIFICATIONS_ENABLED"]:
        outbox.mark_done(job, "Notifications are disabled.")
        return []
    person = db.session.scalar(
        select(User)
        .where(User.id == job.payload.get("userId", 0))
        .with_for_update(of=User)
        .execution_options(populate_existing=True)
    )
    if _left_unsettled(job.id):
        outbox.mark_done(job, "Stopped after claiming its emails: they are not sent again.")
        return []
    moment = clock_now()
    send_at = datetime.fromisoformat(job.payload.get("sendAt") or moment.isoformat())
    if moment < send_at:  # the queue's time ran ahead of the services' clock
        outbox.reschedule(job, (send_at - moment).total_seconds())
        return []
    if person is None:
        outbox.mark_done(job, "The person is gone.")
        return []
    items = _due_items(person, moment)
    if not person.active or not (person.email or "").strip() or _off(person):
        _drop(items)
        outbox.mark_done(job, "The person gets no emails.")
        return []
    prepared = [
        _claim(person, [item], DeliveryKind.RECEIPT, job.id) for item in items if _receipt(item)
    ]
    others = [item for item in items if not _receipt(item)]
    if others:
        kind = _kind_for(person, others)
        waits_until = throttle_ends(person) if kind != DeliveryKind.DIGEST else None
        if waits_until is not None:
            schedule_delivery(person, waits_until)  # they go as one email when it ends
        else:
            prepared.append(_claim(person, others, kind, job.id))
    found = [one for one in prepared if one is not None]
    if not found:
        outbox.mark_done(job, "Nothing to send now.")
    return found


@transactional
def settle_emails(
    job_id: int, worker_id: str, sent: list[int], unsent: list[int], error: str | None
) -> None:
    """After the SMTP calls: the sent deliveries marked, the unsent ones undone (their items
    wait again), the job done or retried."""
    moment = clock_now()
    if sent:
        db.session.execute(
            update(EmailDelivery)
            .where(EmailDelivery.id.in_(sent))
            .values(state=DeliveryState.SENT, sent_at=moment)
        )
    if unsent:
        db.session.execute(
            update(EmailItem).where(EmailItem.delivery_id.in_(unsent)).values(delivery_id=None)
        )
        db.session.execute(delete(EmailDelivery).where(EmailDelivery.id.in_(unsent)))
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return
    if error is None:
        outbox.mark_done(job)
    elif job.attempts >= job.max_attempts:
        outbox.mark_dead(job, error)
    else:
        outbox.reschedule(job, BACKOFF_SECONDS * 2 ** max(job.attempts - 1, 0), error)


def _left_unsettled(job_id: int) -> bool:
    """Deliveries this job claimed in an earlier run that never settled: they may have
    gone out, so they become UNKNOWN and stay claimed."""
    result = db.session.execute(
        update(EmailDelivery)
        .where(EmailDelivery.job_id == job_id, EmailDelivery.state == DeliveryState.SENDING)
        .values(state=DeliveryState.UNKNOWN)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE's result counts its rows


def _due_items(person: User, moment: datetime) -> list[EmailItem]:
    return list(
        db.session.scalars(
            select(EmailItem)
            .where(
                EmailItem.user_id == person.id,
                EmailItem.delivery_id.is_(None),
                EmailItem.send_after <= moment,
            )
            .order_by(EmailItem.id)
        )
    )


def _off(person: User) -> bool:
    return person.email_preference == EmailPreference.OFF


def _receipt(item: EmailItem) -> bool:
    return item.kind == EmailItemKind.RECEIPT


def _drop(items: Sequence[EmailItem]) -> None:
    for item in items:
        db.session.delete(item)


def _kind_for(person: User, items: list[EmailItem]) -> DeliveryKind:
    if person.email_preference == EmailPreference.DIGEST:
        return DeliveryKind.DIGEST
    return DeliveryKind.IMMEDIATE if len(items) == 1 else DeliveryKind.COMBINED


def _claim(
    person: User, items: list[EmailItem], kind: DeliveryKind, job_id: int
) -> Prepared | None:
    """One delivery row for these items, and its message; None when none of their steps
    exists any more (the items are dropped)."""
    steps = _steps_of(items)
    shown = [(item, steps[item.step_id]) for item in items if item.step_id in steps]
    if not shown:
        _drop(items)
        return None
    message = compose(person, kind, shown)
    key = hashlib.sha256(
        f"{person.id}:{','.join(item.key for item in items)}".encode()
    ).hexdigest()[:40]
    delivery = EmailDelivery(
        org_id=person.org_id,
        user_id=person.id,
        kind=kind,
        key=key,
        subject=str(message["Subject"])[:300],
        state=DeliveryState.SENDING,
        job_id=job_id,
        created_at=clock_now(),
    )
    db.session.add(delivery)
    db.session.flush()
    for item in items:
        item.delivery_id = delivery.id
    # The idempotency key travels downstream: a relay that remembers Message-IDs drops a copy.
    del message["Message-ID"]
    message["Message-ID"] = f"<{key}@matterflow>"
    return Prepared(delivery.id, message)


def _steps_of(items: list[EmailItem]) -> dict[int, InstanceStep]:
    ids = {item.step_id for item in items if item.step_id is not None}
    if not ids:
        return {}
    steps = db.session.scalars(
        select(InstanceStep)
        .where(InstanceStep.id.in_(ids))
        .options(joinedload(InstanceStep.instance).joinedload(WorkflowInstance.matter))
    ).all()
    return {step.id: step for step in steps if step.instance.org_id == items[0].org_id}


# ---- what an email says ---------------------------------------------------------------------


def compose(
    person: User, kind: DeliveryKind, shown: list[tuple[EmailItem, InstanceStep]]
) -> EmailMessage:
    """Multipart text and HTML from templates/email/, in the firm's name, with the link
    to each step and to the person's preferences."""
    firm = person.org
    zone = firm_timezone(firm)
    if kind == DeliveryKind.RECEIPT:
        step = shown[0][1]
        context: dict[str, Any] = {"receipt": receipt_facts(person, step, zone)}
        subject = f"Received, thank you: {step.title} ({step.instance.matter.reference})"
        template = "receipt"
    else:
        entries = [entry_facts(person, item, step, zone) for item, step in shown]
        context = {"entries": entries, "digest": kind == DeliveryKind.DIGEST}
        subject = subject_for(kind, entries)
        template = "notice"
    context.update(person=person, firm=firm.name, preferences=preferences_link(person))
    environment = current_app.jinja_env
    text = environment.get_template(f"email/{template}.txt").render(context)
    html = environment.get_template(f"email/{template}.html").render(context)
    message = build_message([person.email], subject, text)
    message.add_alternative(html, subtype="html")
    message.replace_header("From", firm_sender(firm.name))
    message["List-Unsubscribe"] = f"<{context['preferences']}>"
    return message


def firm_sender(firm_name: str) -> str:
    """The firm's name before MAIL_FROM's address: people see who writes to them."""
    address = parseaddr(current_app.config["MAIL_FROM"])[1]
    return formataddr((one_line(firm_name), address))


def subject_for(kind: DeliveryKind, entries: list[dict[str, Any]]) -> str:
    first = entries[0]
    if kind == DeliveryKind.IMMEDIATE:
        return f"{first['headline']}: {first['title']} ({first['reference']})"
    others = len(entries) - 1
    more = f" and {others} more" if others else ""
    lead = "Your daily summary" if kind == DeliveryKind.DIGEST else "Waiting for you"
    return f"{lead}: {first['title']} ({first['reference']}){more}"


HEADLINES = {
    EmailItemKind.READY: "Ready for you",
    EmailItemKind.ASSIGNED: "Assigned to you",
    EmailItemKind.DUE_SOON: "Due soon",
    EmailItemKind.OVERDUE: "Overdue",
    EmailItemKind.ESCALATED: "Overdue on a matter you own",
}


def entry_facts(person: User, item: EmailItem, step: InstanceStep, zone: Any) -> dict[str, Any]:
    matter = step.instance.matter
    return {
        "headline": HEADLINES.get(EmailItemKind(item.kind), "For you"),
        "title": step.title,
        "reference": matter.reference,
        "matter": matter.title,
        "workflow": step.instance.title,
        "asked": what_is_asked(step),
        "due": _local(step.due_at, zone),
        "link": step_link_for(person, step),
        "still_open": step.action_state in (StepState.READY, StepState.IN_PROGRESS),
    }


def what_is_asked(step: InstanceStep) -> list[str]:
    """The request in plain words: the request text, the checklist's items, the amount,
    the approval's message, the document to sign."""
    config = step.action_config or {}
    lines: list[str] = []
    request = config.get("requestText") or config.get("request_text")
    if request:
        lines.append(str(request))
    items = config.get("items")
    if isinstance(items, list) and items:
        lines.append("Tick each of: " + "; ".join(str(i) for i in items))
    if config.get("amount") is not None:
        lines.append(f"Pay {_money(config.get('amount'), config.get('currency'))}")
    if config.get("message"):
        lines.append(str(config["message"]))
    if config.get("documentId") or config.get("document_id"):
        lines.append("Sign the document")
    if not lines:
        lines.append(get_handler(step.action_type).label)
    return lines


def _money(amount: Any, currency: Any) -> str:
    try:
        value = f"{Decimal(str(amount)):,.2f}"
    except InvalidOperation:
        value = str(amount)
    return f"{value} {str(currency or '').upper()}".strip()


def _local(moment: datetime | None, zone: Any) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return f"{local.day} {local:%B %Y, %H:%M} ({local.tzname()})"


def receipt_facts(person: User, step: InstanceStep, zone: Any) -> dict[str, Any]:
    """What the client did, on which matter, and what happens next — in plain words."""
    instance = step.instance
    data = step.action_data or {}
    done: list[str] = []
    files = data.get("files") or []
    if files:
        names = ", ".join(str(f.get("name") or f.get("filename") or "a file") for f in files)
        done.append(f"You sent: {names}")
    ticked = data.get("checkedItems") or []
    if ticked:
        done.append("You confirmed: " + "; ".join(str(t) for t in ticked))
    config = step.action_config or {}
    if config.get("amount") is not None:
        done.append(f"You paid {_money(config.get('amount'), config.get('currency'))}")
    if not done:
        done.append(f"You completed “{step.title}”")
    waiting = db.session.scalars(
        select(InstanceStep.title)
        .where(
            InstanceStep.instance_id == instance.id,
            InstanceStep.role_scope == Role.CLIENT,
            InstanceStep.action_state == StepState.READY,
        )
        .order_by(InstanceStep.order)
    ).all()
    return {
        "title": step.title,
        "reference": instance.matter.reference,
        "matter": instance.matter.title,
        "done": done,
        "when": _local(step.completed_at or utcnow(), zone),
        "next_for_you": list(waiting),
        "link": step_link_for(person, step),
    }
