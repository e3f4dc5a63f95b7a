"""The firm's calendar settings (admins only): its timezone, its jurisdiction for business
and court days, its closure days, and when people are reminded of a due time and the
matter owner told after it. Each change is one transaction with its audit row.

A change counts for the due times counted after it: a due time already set stays as it
was (docs/deadlines.md)."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from webapp.engine.calendars import is_timezone, jurisdiction_problem
from webapp.engine.definition import normalize_due_in
from webapp.engine.errors import Conflict, NotAllowed, NotFound, Unprocessable
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import FirmClosure, Organization, User
from webapp.persistence.journal import record_event
from webapp.persistence.transaction import transactional

MAX_REASON = 200


def require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise NotAllowed("Only an admin can change the firm's calendar.")


@dataclass(frozen=True)
class CalendarSettings:
    timezone: str
    country: str
    subdivision: str | None
    remind_before: str | None
    escalate_after: str | None


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def checked(settings: CalendarSettings) -> CalendarSettings:
    """The settings as stored (codes upper-case, offsets in one form), or Unprocessable
    naming each field that is wrong."""
    problems = []
    timezone = settings.timezone.strip()
    if not is_timezone(timezone):
        problems.append(
            _problem("timezone", f"{timezone!r} is not a timezone: write it like Europe/London.")
        )
    country = settings.country.strip().upper()
    subdivision = (settings.subdivision or "").strip().upper() or None
    wrong = jurisdiction_problem(country, subdivision)
    if wrong:
        problems.append(_problem("subdivision" if "subdivision" in wrong else "country", wrong))
    offsets: dict[str, str | None] = {}
    for field, value in (
        ("remind_before", settings.remind_before),
        ("escalate_after", settings.escalate_after),
    ):
        text = (value or "").strip()
        try:
            offsets[field] = normalize_due_in(text) if text else None
        except ValueError as error:
            problems.append(_problem(field, str(error)))
    if problems:
        raise Unprocessable("The calendar settings are not valid.", problems)
    return CalendarSettings(
        timezone, country, subdivision, offsets["remind_before"], offsets["escalate_after"]
    )


@transactional
def update_calendar(actor: User, settings: CalendarSettings) -> dict[str, list]:
    """Returns what changed: field -> [before, after]."""
    require_admin(actor)
    wanted = checked(settings)
    org = db.session.get(Organization, actor.org_id, with_for_update=True)
    assert org is not None
    changes: dict[str, list] = {}
    for field, value in (
        ("timezone", wanted.timezone),
        ("calendar_country", wanted.country),
        ("calendar_subdivision", wanted.subdivision),
        ("remind_before", wanted.remind_before),
        ("escalate_after", wanted.escalate_after),
    ):
        if getattr(org, field) != value:
            changes[field] = [getattr(org, field), value]
            setattr(org, field, value)
    if changes:
        record_event(
            org_id=org.id,
            event_type="firm.calendar_changed",
            actor_id=actor.id,
            payload={"changes": changes},
        )
    return changes


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        message = "Choose a day, written like 2026-12-24."
        raise Unprocessable(message, [_problem("day", message)]) from None


@transactional
def add_closure(actor: User, day_text: str, reason: str) -> FirmClosure:
    require_admin(actor)
    day = _day(day_text)
    reason = " ".join((reason or "").split())
    if len(reason) > MAX_REASON:
        message = f"Say why in at most {MAX_REASON} characters."
        raise Unprocessable(message, [_problem("reason", message)])
    taken = db.session.scalar(
        select(FirmClosure.id).where(FirmClosure.org_id == actor.org_id, FirmClosure.day == day)
    )
    if taken is not None:
        raise Conflict(f"The firm is already closed on {day.isoformat()}.")
    closure = FirmClosure(org_id=actor.org_id, day=day, reason=reason)
    db.session.add(closure)
    db.session.flush()
    record_event(
        org_id=actor.org_id,
        event_type="firm.closure_added",
        actor_id=actor.id,
        payload={"day": day.isoformat(), "reason": reason},
    )
    return closure


@transactional
def remove_closure(actor: User, closure_id: int) -> FirmClosure:
    require_admin(actor)
    closure = db.session.scalar(
        select(FirmClosure).where(FirmClosure.id == closure_id, FirmClosure.org_id == actor.org_id)
    )
    if closure is None:
        raise NotFound(f"Closure day {closure_id} was not found.")
    db.session.delete(closure)
    record_event(
        org_id=actor.org_id,
        event_type="firm.closure_removed",
        actor_id=actor.id,
        payload={"day": closure.day.isoformat(), "reason": closure.reason},
    )
    return closure
