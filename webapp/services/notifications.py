"""Emails to the people a step is ready for (`notify.step_ready` jobs)."""

from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select

from webapp.adapters.mail import build_message, deliver
from webapp.engine.actions.automated import ActionFailed
from webapp.engine.eligibility import resolve_eligible_actors
from webapp.engine.states import StepState
from webapp.extensions import db
from webapp.models import InstanceStep, User, WorkflowInstance
from webapp.persistence.transaction import transactional
from webapp.services import outbox
from webapp.services.access import matter_access


def run_notify_job(job: outbox.Claimed, worker_id: str) -> None:
    job_id = job.id
    messages = ready_messages(job_id, worker_id)
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
    matter = instance.matter
    subject = f"Ready for you: {step.title} ({matter.reference})"
    body = (
        f"Hello {person.name},\n\n"
        f'The step "{step.title}" of the workflow "{instance.title}" on matter '
        f"{matter.reference} ({matter.title}) is ready for you.\n\n"
        "Open your Matterflow inbox to work on it.\n"
    )
    return build_message([person.email], subject, body)
