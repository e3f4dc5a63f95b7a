"""Telling people. In the app: a Notification row per person, written in the transaction
of the change that causes it (a step READY for them or assigned to them, a workflow of
theirs failed, a job dead-lettered). By email: the same events become `email_items`
through an outbox job after the commit, and services/email_delivery.py sends them by
each person's preference (immediate and throttled, a daily digest, or off).

Also here: the email of someone added to a matter's team (`notify.member_added`), and a
person's preferences (the page, the API and the signed link in every email)."""

from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import event as orm_event
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from webapp.adapters.mail import build_message, deliver
from webapp.engine.actions import get_handler
from webapp.engine.actions.automated import ActionFailed
from webapp.engine.eligibility import Actor, MatterAccess, can_perform, resolve_eligible_actors
from webapp.engine.errors import NotFound, Unprocessable
from webapp.engine.roles import Role
from webapp.engine.states import ACTIVE_STATUSES, StepState
from webapp.extensions import db
from webapp.models import (
    DeliveryKind,
    EmailDelivery,
    EmailItem,
    EmailItemKind,
    EmailPreference,
    InstanceStep,
    Job,
    Matter,
    MatterScreen,
    Notification,
    Organization,
    User,
    WorkflowInstance,
)
from webapp.models.base import utcnow
from webapp.persistence.journal import enqueue
from webapp.persistence.transaction import transactional
from webapp.services import client_link_issue, outbox
from webapp.services.access import matter_access
from webapp.services.clock import now as clock_now

# Job kinds: one email item for one person (assigned, receipt); a person's due emails.
EMAIL_ITEM_JOB = "notify.email_item"
EMAIL_JOB = "notify.email"
# The people around a matter, as the step door already read them in this transaction:
# the notifications of a transition cost no query of their own (session.info, dropped
# at the transaction's end).
_ACCESS = "matterflow_notify_access"
PREFERENCES_SALT = "email-preferences"


class Kind:
    """Notification kinds (the `kind` column); deadline reminders add their own."""

    STEP_READY = "step.ready"
    STEP_ASSIGNED = "step.assigned"
    INSTANCE_FAILED = "instance.failed"
    JOB_DEAD = "job.dead"


# ---- in the app ---------------------------------------------------------------------------


def notify_in_app(
    user_ids: list[int],
    *,
    org_id: int,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    matter_id: int | None = None,
    step_id: int | None = None,
) -> list[Notification]:
    """One in-app notification for each person, inside the caller's transaction (so it is
    written with the change that causes it, or not at all)."""
    rows = [
        Notification(
            org_id=org_id,
            user_id=user_id,
            kind=kind,
            title=title[:300],
            body=body,
            url=url,
            matter_id=matter_id,
            step_id=step_id,
        )
        for user_id in dict.fromkeys(user_ids)
    ]
    db.session.add_all(rows)
    return rows


def _insert(user_ids: set[int] | list[int], **fields: Any) -> None:
    """The same as notify_in_app as one multi-row INSERT on the transaction's connection,
    without the ORM's bookkeeping: the cost a transition pays (bench (b))."""
    if not user_ids:
        return
    fields["title"] = fields["title"][:300]
    moment = utcnow()
    rows = [
        {"user_id": user_id, "created_at": moment, "read_at": None, **fields}
        for user_id in sorted(set(user_ids))
    ]
    db.session.connection().execute(insert(Notification.__table__), rows)


def remember_access(access: MatterAccess, matter_id: int) -> None:
    """The step door read the matter's people under its lock; the notifications of this
    transaction use them instead of reading them again."""
    db.session().info.setdefault(_ACCESS, {})[matter_id] = access


def _access_of(matter: Matter) -> MatterAccess:
    known = db.session().info.get(_ACCESS, {})
    if matter.id not in known:
        known = db.session().info.setdefault(_ACCESS, {})
        known[matter.id] = matter_access(matter)
    return known[matter.id]


@orm_event.listens_for(Session, "after_commit")
@orm_event.listens_for(Session, "after_soft_rollback")
def _forget_access(session: Session, *_: Any) -> None:
    session.info.pop(_ACCESS, None)


def runner_path(matter_id: int, instance_id: int, step_id: int | None = None) -> str:
    path = f"/matters/{matter_id}/workflows/{instance_id}"
    return f"{path}#step-{step_id}" if step_id else path


def step_ready(instance: WorkflowInstance, step: InstanceStep) -> None:
    """A human step became READY: each person who may act on it is told (never a screened
    one: resolve_eligible_actors leaves them out)."""
    matter = instance.matter
    people = resolve_eligible_actors(step.role_scope, step.assigned_to_id, _access_of(matter))
    _insert(
        people,
        org_id=instance.org_id,
        kind=Kind.STEP_READY,
        title=f"Ready for you: {step.title}",
        body=f"{matter.reference} · {instance.title}",
        url=runner_path(matter.id, instance.id, step.id),
        matter_id=matter.id,
        step_id=step.id,
    )


def step_assigned(instance: WorkflowInstance, step: InstanceStep, user_id: int) -> None:
    """The assignee is told at once: in the app now, by email after the commit."""
    matter = instance.matter
    _insert(
        [user_id],
        org_id=instance.org_id,
        kind=Kind.STEP_ASSIGNED,
        title=f"Assigned to you: {step.title}",
        body=f"{matter.reference} · {instance.title}",
        url=runner_path(matter.id, instance.id, step.id),
        matter_id=matter.id,
        step_id=step.id,
    )
    enqueue(
        EMAIL_ITEM_JOB,
        {"kind": EmailItemKind.ASSIGNED, "stepId": step.id, "userId": user_id},
        org_id=instance.org_id,
        instance_id=instance.id,
        dedupe_key=f"assigned:{step.id}:{user_id}:{step.version_id}",
    )


def client_receipt(instance: WorkflowInstance, step: InstanceStep, user_id: int) -> None:
    """A client completed a step of theirs: a receipt by email, after the commit."""
    enqueue(
        EMAIL_ITEM_JOB,
        {"kind": EmailItemKind.RECEIPT, "stepId": step.id, "userId": user_id},
        org_id=instance.org_id,
        instance_id=instance.id,
        dedupe_key=f"receipt:{step.id}:{user_id}:{step.version_id}",
    )


def instance_failed(instance: WorkflowInstance) -> None:
    """Whoever owns the workflow hears that it failed: the matter's owner and the person
    who started it (unless a wall keeps them off the matter)."""
    matter = instance.matter
    access = _access_of(matter)
    owners = {matter.owner_id, instance.created_by_id} - {None} - access.screened
    _insert(
        owners,  # type: ignore[arg-type]  # None was taken out above
        org_id=instance.org_id,
        kind=Kind.INSTANCE_FAILED,
        title=f"Workflow failed: {instance.title}",
        body=f"{matter.reference} · {matter.title}",
        url=runner_path(matter.id, instance.id),
        matter_id=matter.id,
        step_id=None,
    )


def job_dead(job: Job) -> None:
    """A job reached the dead letters: the firm's admins are told (not one screened from
    the matter the job worked for)."""
    if job.org_id is None:
        return
    admins = select(User.id).where(User.org_id == job.org_id, User.role == Role.ADMIN, User.active)
    matter_id = None
    if job.instance_id is not None:
        matter_id = db.session.scalar(
            select(WorkflowInstance.matter_id).where(WorkflowInstance.id == job.instance_id)
        )
        screened = select(MatterScreen.user_id).where(MatterScreen.matter_id == matter_id)
        admins = admins.where(User.id.not_in(screened))
    _insert(
        list(db.session.scalars(admins)),
        org_id=job.org_id,
        kind=Kind.JOB_DEAD,
        title=f"A background job gave up: {job.kind}",
        body=(job.last_error or "")[:500],
        url="/admin/jobs",
        matter_id=matter_id,
        step_id=None,
    )


outbox.DEAD_LISTENERS.append(job_dead)


def list_for(user: User, unread: bool, limit: int, offset: int) -> tuple[list[Notification], int]:
    """A person's notifications, newest first (the (user, read_at, id) index)."""
    mine = [Notification.user_id == user.id, Notification.org_id == user.org_id]
    if unread:
        mine.append(Notification.read_at.is_(None))
    rows = db.session.scalars(
        select(Notification)
        .where(*mine)
        .order_by(Notification.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = db.session.scalar(select(func.count()).select_from(Notification).where(*mine)) or 0
    return list(rows), total


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


@transactional
def mark_read(user: User, notification_id: int) -> Notification:
    """Someone else's notification is not found, as a missing one is."""
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"Notification {notification_id} was not found.")
    if row.read_at is None:
        row.read_at = clock_now()
    return row


@transactional
def mark_all_read(user: User) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=clock_now())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # an UPDATE's result counts its rows


# ---- preferences ----------------------------------------------------------------------------


def firm_timezone(org: Organization) -> ZoneInfo:
    """The firm's timezone (Admin → Firm), for digest hours and the times emails show."""
    return ZoneInfo(org.timezone or "UTC")


def preferences_token(user: User) -> str:
    """The signed part of the preferences link in every email: it opens that person's
    email preferences without signing in, and nothing else."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], PREFERENCES_SALT).dumps(user.id)


def preferences_link(user: User) -> str:
    return f"{public_url()}/preferences/email/{preferences_token(user)}"


def user_for_token(token: str) -> User:
    try:
        user_id = URLSafeSerializer(current_app.config["SECRET_KEY"], PREFERENCES_SALT).loads(token)
    except BadSignature:
        raise NotFound("This link is not valid. Open the latest email again.") from None
    person = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if person is None or not person.active:
        raise NotFound("This link is not valid. Open the latest email again.")
    return person


@transactional
def update_preferences(user: User, email: str | None, digest_hour: int | None) -> User:
    """Change how emails reach this person (themselves, signed in or through their link)."""
    person = db.session.get(User, user.id)
    assert person is not None  # the caller is that person, signed in or by their link
    if email is not None:
        try:
            person.email_preference = EmailPreference(email).value
        except ValueError:
            message = "Choose immediate, digest or off."
            raise Unprocessable(message, [{"field": "email", "message": message}]) from None
    if digest_hour is not None:
        if not 0 <= digest_hour <= 23:
            message = "The digest hour is a whole hour from 0 to 23."
            raise Unprocessable(message, [{"field": "digestHour", "message": message}])
        person.digest_hour = digest_hour
    return person


def public_url() -> str:
    return str(current_app.config["PUBLIC_URL"]).rstrip("/")


def step_link_for(person: User, step: InstanceStep) -> str:
    """Where an email about `step` sends `person`: the runner, at the step; a client
    asked to act on an open client step gets a one-step link instead (issued here, in the
    email job's transaction), so no sign-in stands between the email and the step."""
    if person.role == Role.CLIENT and step.action_state in (StepState.READY, StepState.IN_PROGRESS):
        return client_link_issue.url_of(client_link_issue.issue(None, step, person))
    instance = step.instance
    return public_url() + runner_path(instance.matter_id, instance.id, step.id)


# ---- email items: what each person is still to be told -------------------------------------


def run_notify_job(job: outbox.Claimed, worker_id: str) -> None:
    """`notify.step_ready`: an email item for each person the step is ready for."""
    _ready_items(job.id, worker_id)


@transactional
def _ready_items(job_id: int, worker_id: str) -> None:
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return
    job.attempts += 1
    step = db.session.get(InstanceStep, job.payload.get("stepId", 0))
    if not current_app.config["NOTIFICATIONS_ENABLED"]:
        outbox.mark_done(job, "Notifications are disabled.")
        return
    if step is None or step.action_state != StepState.READY:
        outbox.mark_done(job, "The step is no longer waiting for anyone.")
        return
    people = _recipients(step, step.instance)
    for person in people:
        queue_email(person, EmailItemKind.READY, step, job.id)
    outbox.mark_done(job, None if people else "Nobody with an email address can act on it.")


def run_item_job(job: outbox.Claimed, worker_id: str) -> None:
    """`notify.email_item`: one person's email item (an assignment, a receipt)."""
    _one_item(job.id, worker_id)


@transactional
def _one_item(job_id: int, worker_id: str) -> None:
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return
    job.attempts += 1
    if not current_app.config["NOTIFICATIONS_ENABLED"]:
        outbox.mark_done(job, "Notifications are disabled.")
        return
    kind = EmailItemKind(str(job.payload.get("kind")))
    step = db.session.get(InstanceStep, job.payload.get("stepId", 0))
    person = db.session.get(User, job.payload.get("userId", 0))
    if step is None or person is None or not person.active or not (person.email or "").strip():
        outbox.mark_done(job, "The step or the person is gone.")
        return
    instance = step.instance
    if person.id in _access_of(instance.matter).screened:
        outbox.mark_done(job, "The person is screened from the matter.")
        return
    if kind == EmailItemKind.ASSIGNED and step.assigned_to_id != person.id:
        outbox.mark_done(job, "The step was given to someone else meanwhile.")
        return
    queue_email(person, kind, step, job.id)
    outbox.mark_done(job)


def _recipients(step: InstanceStep, instance: WorkflowInstance) -> list[User]:
    ids = resolve_eligible_actors(step.role_scope, step.assigned_to_id, _access_of(instance.matter))
    if not ids:
        return []
    people = db.session.scalars(select(User).where(User.id.in_(ids), User.active)).all()
    return sorted((p for p in people if (p.email or "").strip()), key=lambda p: p.id)


def queue_email(person: User, kind: EmailItemKind, step: InstanceStep, job_id: int) -> None:
    """One item for this person, keyed per (kind, step, person, the job that asked), and
    a delivery job at the time it may go: now, at the end of the throttle window, or at
    their digest hour. Nothing for a person who turned emails off."""
    if person.email_preference == EmailPreference.OFF:
        return
    key = f"{kind}:{step.id}:{person.id}:{job_id}"
    if db.session.scalar(select(EmailItem.id).where(EmailItem.key == key)) is not None:
        return  # the job ran before and its work was kept
    moment = clock_now()
    send_after = moment
    if kind != EmailItemKind.RECEIPT and person.email_preference == EmailPreference.DIGEST:
        send_after = next_digest(person, moment)
    db.session.add(
        EmailItem(
            org_id=person.org_id,
            user_id=person.id,
            kind=kind,
            key=key,
            step_id=step.id,
            matter_id=step.instance.matter_id,
            send_after=send_after,
        )
    )
    if kind != EmailItemKind.RECEIPT and person.email_preference == EmailPreference.IMMEDIATE:
        send_after = max(send_after, throttle_ends(person) or send_after)
    schedule_delivery(person, send_after)


def next_digest(person: User, moment: datetime) -> datetime:
    """The next time the clock shows the person's digest hour in the firm's timezone."""
    local = moment.astimezone(firm_timezone(person.org))
    due = local.replace(hour=person.digest_hour, minute=0, second=0, microsecond=0)
    if due <= local:
        due = (due + timedelta(days=1)).replace(hour=person.digest_hour)
    return due.astimezone(moment.tzinfo)


def throttle_ends(person: User) -> datetime | None:
    """When this person may get their next immediate email (None: now)."""
    last = db.session.scalar(
        select(func.max(EmailDelivery.created_at)).where(
            EmailDelivery.user_id == person.id,
            EmailDelivery.kind.in_([DeliveryKind.IMMEDIATE, DeliveryKind.COMBINED]),
        )
    )
    if last is None:
        return None
    ends = last + timedelta(minutes=current_app.config["EMAIL_THROTTLE_MINUTES"])
    return ends if ends > clock_now() else None


def schedule_delivery(person: User, at: datetime) -> None:
    """A `notify.email` job for the person at `at` (the services' clock). Items due at
    the same moment share one job: ten READY steps before the digest hour, one email."""
    moment = clock_now()
    later = at > moment
    dedupe = f"email:{person.id}:{int(at.timestamp())}" if later else None
    if dedupe and db.session.scalar(select(Job.id).where(Job.dedupe_key == dedupe)):
        return
    # The queue runs on real time; the job checks the services' clock when it runs.
    run_at = utcnow() + (at - moment if later else timedelta(0))
    enqueue(
        EMAIL_JOB,
        {"userId": person.id, "sendAt": at.isoformat()},
        org_id=person.org_id,
        dedupe_key=dedupe,
        run_at=run_at,
    )


# ---- the old path, kept for jobs of its kind: someone joined a matter's team -------------


def send_and_settle(job_id: int, worker_id: str, messages: list[EmailMessage] | None) -> None:
    """An email job's end: the messages sent, then the job settled; a refused send counts
    as an attempt (the job retries with backoff). None: nothing to send, already settled."""
    if messages is None:
        return
    try:
        for message in messages:
            deliver(message)
    except ActionFailed as error:
        outbox.fail_attempt(job_id, worker_id, error.message)
        return
    outbox.settle(job_id, worker_id)


def run_member_job(job: outbox.Claimed, worker_id: str) -> None:
    message = member_message(job.id, worker_id)
    send_and_settle(job.id, worker_id, None if message is None else [message])


@transactional
def member_message(job_id: int, worker_id: str) -> EmailMessage | None:
    """The email telling someone added to a matter which of its steps already wait for
    them, or None when there is none to send (the job is settled)."""
    db.session.expire_all()
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return None
    job.attempts += 1
    if not current_app.config["NOTIFICATIONS_ENABLED"]:
        outbox.mark_done(job, "Notifications are disabled.")
        return None
    matter = db.session.get(Matter, job.payload.get("matterId", 0))
    person = db.session.get(User, job.payload.get("userId", 0))
    if matter is None or person is None or not person.active:
        outbox.mark_done(job, "The matter or the person is gone.")
        return None
    access = matter_access(matter)
    if not access.can_see(person.id, person.role) or person.id not in access.members:
        outbox.mark_done(job, "The person is no longer on the matter.")
        return None
    if not (person.email or "").strip() or person.email_preference == EmailPreference.OFF:
        outbox.mark_done(job, "The person has no email address or turned emails off.")
        return None
    return _member_message(person, matter, waiting_for(person, matter, access))


def waiting_for(person: User, matter: Matter, access: MatterAccess) -> list[InstanceStep]:
    """The READY steps of the matter's running workflows this person may act on now (the
    automated ones run by themselves)."""
    steps = db.session.scalars(
        select(InstanceStep)
        .join(WorkflowInstance, WorkflowInstance.id == InstanceStep.instance_id)
        .where(
            WorkflowInstance.matter_id == matter.id,
            WorkflowInstance.status.in_([s.value for s in ACTIVE_STATUSES]),
            InstanceStep.action_state == StepState.READY,
        )
        .order_by(InstanceStep.instance_id, InstanceStep.order, InstanceStep.id)
    ).all()
    actor = Actor(person.id, person.role, person.org_id)
    return [
        step
        for step in steps
        if not get_handler(step.action_type).automated
        and can_perform(step.role_scope, step.assigned_to_id, step.claimed_by_id, actor, access)
    ]


def _member_message(person: User, matter: Matter, steps: list[InstanceStep]) -> EmailMessage:
    subject = f"You were added to matter {matter.reference}"
    if steps:
        listed = "\n".join(f"  - {step.title} ({step.instance.title})" for step in steps)
        waiting = f"These steps are already waiting for you:\n{listed}\n\n"
    else:
        waiting = "No step is waiting for you yet; you will be told when one is.\n\n"
    body = (
        f"Hello {person.name},\n\n"
        f"You were added to the team of matter {matter.reference} ({matter.title}) as "
        f"{person.role.lower()}.\n\n"
        f"{waiting}"
        "Open your Matterflow inbox to work on them.\n"
    )
    return build_message([person.email], subject, body)
