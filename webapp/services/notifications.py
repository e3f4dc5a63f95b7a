"""Emails to the people a step is ready for (`notify.step_ready` jobs), and to someone
added to a matter's team (`notify.member_added`): the steps already waiting for them."""

from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select

from webapp.adapters.mail import build_message, deliver
from webapp.engine.actions import get_handler
from webapp.engine.actions.automated import ActionFailed
from webapp.engine.eligibility import Actor, MatterAccess, can_perform, resolve_eligible_actors
from webapp.engine.roles import Role
from webapp.engine.states import ACTIVE_STATUSES, StepState
from webapp.extensions import db
from webapp.models import InstanceStep, Matter, Notification, User, WorkflowInstance
from webapp.persistence.transaction import transactional
from webapp.services import client_link_issue, outbox
from webapp.services.access import matter_access


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


def run_notify_job(job: outbox.Claimed, worker_id: str) -> None:
    send_and_settle(job.id, worker_id, ready_messages(job.id, worker_id))


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


@transactional
def ready_messages(job_id: int, worker_id: str) -> list[EmailMessage] | None:
    """The emails to send, or None when there is nothing to send (the job is settled)."""
    db.session.expire_all()
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return None
    job.attempts += 1
    step = db.session.get(InstanceStep, job.payload.get("stepId", 0))
    if not current_app.config["NOTIFICATIONS_ENABLED"]:
        outbox.mark_done(job, "Notifications are disabled.")
        return None
    if step is None or step.action_state != StepState.READY:
        outbox.mark_done(job, "The step is no longer waiting for anyone.")
        return None
    instance = step.instance
    recipients = _recipients(step, instance)
    if not recipients:
        outbox.mark_done(job, "Nobody with an email address can act on the step.")
        return None
    return [_message(person, step, instance) for person in recipients]


def _recipients(step: InstanceStep, instance: WorkflowInstance) -> list[User]:
    ids = resolve_eligible_actors(
        step.role_scope, step.assigned_to_id, matter_access(instance.matter)
    )
    if not ids:
        return []
    people = db.session.scalars(select(User).where(User.id.in_(ids), User.active)).all()
    return sorted((p for p in people if (p.email or "").strip()), key=lambda p: p.id)


def _message(person: User, step: InstanceStep, instance: WorkflowInstance) -> EmailMessage:
    # ---- client links (branch client-links): a client gets a one-step link, issued here
    # in the job's transaction, instead of being sent to sign in. Merge into H3's hook.
    if person.role == Role.CLIENT:
        return client_link_issue.link_email(client_link_issue.issue(None, step, person))
    # ---- end client links
    matter = instance.matter
    subject = f"Ready for you: {step.title} ({matter.reference})"
    body = (
        f"Hello {person.name},\n\n"
        f'The step "{step.title}" of the workflow "{instance.title}" on matter '
        f"{matter.reference} ({matter.title}) is ready for you.\n\n"
        "Open your Matterflow inbox to work on it.\n"
    )
    return build_message([person.email], subject, body)


# ---- someone joined a matter's team (`notify.member_added` jobs) -------------------------


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
    if not (person.email or "").strip():
        outbox.mark_done(job, "The person has no email address.")
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
