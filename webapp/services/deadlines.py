"""Due dates, reminders and escalations (docs/deadlines.md).

When a step becomes READY, or comes back to work (a retry, an unblock), its due time is
counted from now in the firm's calendar (engine/calendars.py), and its notices are
scheduled as outbox jobs at their time: a reminder before the due time to the people who
may act, "overdue" to them at the due time, and an escalation to the matter owner after it.
Each job's idempotency key names the step, the due time and the notice, so a notice is
written once however many workers run; when it runs it checks the step is still open and
still due then, and settles silently otherwise (a recomputed due time has jobs of its own).
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from webapp.engine.actions import get_handler
from webapp.engine.calendars import FirmCalendar, due_at, shifted
from webapp.engine.eligibility import resolve_eligible_actors
from webapp.engine.states import OPEN_STATES, TERMINAL_STATUSES
from webapp.extensions import db
from webapp.models import (
    EmailItemKind,
    FirmClosure,
    InstanceStep,
    Job,
    Organization,
    User,
    WorkflowInstance,
)
from webapp.persistence.journal import enqueue
from webapp.persistence.transaction import transactional
from webapp.services import outbox
from webapp.services.access import matter_access
from webapp.services.clock import now as clock_now
from webapp.services.notifications import notify_in_app, queue_email

NOTICE_JOB = "deadline.notice"
REMIND, OVERDUE, ESCALATE = "remind", "overdue", "escalate"
NOTIFICATION_KINDS = {REMIND: "step.due_soon", OVERDUE: "step.overdue", ESCALATE: "step.escalated"}
EMAIL_KINDS = {
    REMIND: EmailItemKind.DUE_SOON,
    OVERDUE: EmailItemKind.OVERDUE,
    ESCALATE: EmailItemKind.ESCALATED,
}


@dataclass(frozen=True)
class FirmDeadlines:
    calendar: FirmCalendar
    remind_before: str | None
    escalate_after: str | None


def firm_calendar(org: Organization) -> FirmCalendar:
    closures = db.session.scalars(select(FirmClosure.day).where(FirmClosure.org_id == org.id))
    return FirmCalendar(
        timezone=org.timezone or "UTC",
        country=org.calendar_country or "US",
        subdivision=org.calendar_subdivision or None,
        closures=frozenset(closures),
    )


def firm_deadlines(org_id: int) -> FirmDeadlines:
    org = db.session.get(Organization, org_id)
    assert org is not None  # an instance's firm exists while the instance does
    return FirmDeadlines(firm_calendar(org), org.remind_before, org.escalate_after)


def start_clock(instance: WorkflowInstance, step: InstanceStep) -> None:
    """The step is due `due_in` from now in the firm's calendar; its notices are scheduled.
    Called inside the transaction that makes the step READY or brings it back to work."""
    if not step.due_in:
        return
    firm = firm_deadlines(instance.org_id)
    moment = clock_now().replace(microsecond=0)  # a due time to the second, as people read it
    try:
        step.due_at = due_at(moment, step.due_in, firm.calendar)
    except ValueError:  # a due time stored before it was checked: no due date, no notices
        step.due_at = None
        return
    if get_handler(step.action_type).automated:
        return  # the worker runs it; nobody is there to remind
    schedule_notices(instance, step, firm, moment)


def notice_times(step: InstanceStep, firm: FirmDeadlines, moment: datetime) -> dict[str, datetime]:
    """When each notice of the step's due time is given; a reminder whose time has passed
    already is left out (the step has only just become ready)."""
    assert step.due_at is not None
    config = step.action_config or {}
    remind = config.get("remindBefore", firm.remind_before)
    escalate = config.get("escalateAfter", firm.escalate_after)
    times = {OVERDUE: step.due_at}
    if remind:
        at = shifted(step.due_at, remind, firm.calendar, later=False)
        if at > moment:
            times[REMIND] = at
    if escalate:
        times[ESCALATE] = shifted(step.due_at, escalate, firm.calendar, later=True)
    return times


def notice_key(notice: str, step_id: int, due: datetime) -> str:
    return f"deadline:{notice}:{step_id}:{due.isoformat()}"


def schedule_notices(
    instance: WorkflowInstance, step: InstanceStep, firm: FirmDeadlines, moment: datetime
) -> None:
    assert step.due_at is not None
    times = notice_times(step, firm, moment)
    keys = {notice: notice_key(notice, step.id, step.due_at) for notice in times}
    # A step made ready again in the same second of an injected clock has the same due
    # time: its notices are scheduled already.
    taken = set(db.session.scalars(select(Job.dedupe_key).where(Job.dedupe_key.in_(keys.values()))))
    for notice, at in times.items():
        if keys[notice] in taken:
            continue
        enqueue(
            NOTICE_JOB,
            {
                "stepId": step.id,
                "instanceId": instance.id,
                "dueAt": step.due_at.isoformat(),
                "notice": notice,
            },
            org_id=instance.org_id,
            dedupe_key=keys[notice],
            run_at=at,
        )


# ---- the worker's side ------------------------------------------------------------------


def run_notice_job(job: outbox.Claimed, worker_id: str) -> None:
    give_notice(job.id, worker_id)


@transactional
def give_notice(job_id: int, worker_id: str) -> None:
    """The notice's in-app notifications and its email job, and the job settled, in one
    commit: a worker that dies before it leaves nothing, and the next one gives it."""
    db.session.expire_all()
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return
    job.attempts += 1
    payload = job.payload or {}
    step = db.session.get(InstanceStep, payload.get("stepId", 0))
    reason = _stale(step, payload.get("dueAt"))
    if reason:
        outbox.mark_done(job, reason)
        return
    assert step is not None
    notice = str(payload.get("notice"))
    people = _told(step, notice)
    if people:
        _tell(step, notice, people, job.id)
    outbox.mark_done(job, None if people else "Nobody to tell.")


def _stale(step: InstanceStep | None, due: str | None) -> str | None:
    """Why the notice is no longer given, or None."""
    if step is None:
        return "The step no longer exists."
    if step.action_state not in OPEN_STATES:
        return f"The step is {step.action_state}."
    if step.instance.status in TERMINAL_STATUSES:
        return f"The workflow is {step.instance.status}."
    if step.due_at is None or due is None or step.due_at != datetime.fromisoformat(due):
        return "The step's due time changed."
    return None


def _told(step: InstanceStep, notice: str) -> list[User]:
    """Who hears of it: the people who may act on the step (the one who claimed it, when
    someone did), or for an escalation the matter's owner; never a screened person."""
    matter = step.instance.matter
    access = matter_access(matter)
    if notice == ESCALATE:
        ids = {matter.owner_id} - access.screened
    else:
        ids = resolve_eligible_actors(step.role_scope, step.assigned_to_id, access)
        if step.claimed_by_id is not None:
            ids &= {step.claimed_by_id}
    if not ids:
        return []
    people = db.session.scalars(select(User).where(User.id.in_(ids), User.active)).all()
    return sorted(people, key=lambda person: person.id)


def step_path(matter_id: int, instance_id: int, step_id: int) -> str:
    """Where the step is worked: its card on the runner."""
    return f"/matters/{matter_id}/workflows/{instance_id}#step-{step_id}"


def due_text(at: datetime, timezone: str) -> str:
    """ "Fri 11 Dec, 17:00" in the firm's timezone."""
    local = at.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def _wording(step: InstanceStep, notice: str) -> tuple[str, str]:
    matter = step.instance.matter
    assert step.due_at is not None
    org = db.session.get(Organization, step.instance.org_id)
    when = due_text(step.due_at, (org.timezone if org else None) or "UTC")
    about = f"“{step.title}” on matter {matter.reference}"
    if notice == REMIND:
        return f"Due soon: {step.title} ({matter.reference})", f"{about} is due {when}."
    if notice == OVERDUE:
        return f"Overdue: {step.title} ({matter.reference})", f"{about} was due {when}."
    return (
        f"Overdue on your matter: {step.title} ({matter.reference})",
        f"{about} was due {when} and is not done yet. You are told as the matter's owner.",
    )


def _tell(step: InstanceStep, notice: str, people: list[User], job_id: int) -> None:
    """In the app at once; by email as each person asked (services/notifications.py:
    immediate within the throttle, in their digest, or not at all), keyed by this job."""
    instance = step.instance
    title, body = _wording(step, notice)
    notify_in_app(
        [person.id for person in people],
        org_id=instance.org_id,
        kind=NOTIFICATION_KINDS[notice],
        title=title,
        body=body,
        url=step_path(instance.matter_id, instance.id, step.id),
        matter_id=instance.matter_id,
        step_id=step.id,
    )
    if not current_app.config["NOTIFICATIONS_ENABLED"]:
        return
    for person in people:
        if (person.email or "").strip():
            queue_email(person, EMAIL_KINDS[notice], step, job_id)
