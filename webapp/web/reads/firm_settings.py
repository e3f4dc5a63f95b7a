"""What /admin/firm shows: the firm's calendar settings, its closure days, the closed days
coming up, and an example due date counted with the settings as they are."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from webapp.engine.calendars import due_at, holiday_name, jurisdictions, public_holidays
from webapp.extensions import db
from webapp.models import FirmClosure, Organization, User
from webapp.services.clock import now
from webapp.services.deadlines import due_text, firm_calendar

AHEAD_DAYS = 120
EXAMPLE = "10 court days"


@dataclass
class ClosedDay:
    day: date
    why: str
    closure_id: int | None  # a closure day of the firm's; None: a public holiday


@dataclass
class FirmSettingsPage:
    org: Organization
    closures: list[FirmClosure]
    upcoming: list[ClosedDay]
    countries: list[str]
    subdivisions: list[str]
    example: str
    form: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    closure_form: dict[str, Any] = field(default_factory=dict)
    closure_errors: dict[str, list[str]] = field(default_factory=dict)


def firm_settings_page(user: User) -> FirmSettingsPage:
    org = db.session.get(Organization, user.org_id)
    assert org is not None
    closures = list(
        db.session.scalars(
            select(FirmClosure).where(FirmClosure.org_id == org.id).order_by(FirmClosure.day)
        )
    )
    calendar = firm_calendar(org)
    moment = now()
    today = moment.astimezone(calendar.zone).date()
    known = jurisdictions()
    return FirmSettingsPage(
        org=org,
        closures=closures,
        upcoming=_upcoming(org, closures, today),
        countries=sorted(known),
        subdivisions=sorted(known.get(org.calendar_country, [])),
        example=_example(moment, calendar, org.timezone),
    )


def _upcoming(org: Organization, closures: list[FirmClosure], today: date) -> list[ClosedDay]:
    """The public holidays and closure days of the next months, in order."""
    end = today + timedelta(days=AHEAD_DAYS)
    country, subdivision = org.calendar_country, org.calendar_subdivision
    days = [
        ClosedDay(day, holiday_name(country, subdivision, day) or "Public holiday", None)
        for year in {today.year, end.year}
        for day in public_holidays(country, subdivision, year)
        if today <= day <= end
    ]
    days += [
        ClosedDay(c.day, c.reason or "Firm closed", c.id) for c in closures if today <= c.day <= end
    ]
    return sorted(days, key=lambda closed: (closed.day, closed.closure_id or 0))


def _example(moment: datetime, calendar: Any, timezone: str) -> str:
    try:
        return due_text(due_at(moment, EXAMPLE, calendar), timezone)
    except ValueError:
        return ""
