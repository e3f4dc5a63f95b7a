"""Firm calendars: when a step is due, counted as lawyers count.

A step's `dueIn` is calendar time (an ISO-8601 duration: P3D, PT4H, or "3 days") or a
count of open days ("10 business days", "5 court days"). An open day is a weekday that is
neither a public holiday of the firm's jurisdiction (the `holidays` library: country plus
optional subdivision) nor one of the firm's closure days. Business days and court days
count the same open days (docs/deadlines.md says why). Calendar time whose end lands on a
closed day rolls forward to the same local time on the next open day.

Pure: plain values in, an aware UTC datetime out."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays

from webapp.engine.definition import normalize_due_in, open_days_in, parse_duration

CALENDAR, BUSINESS, COURT = "calendar", "business", "court"
# Ten years of consecutive closed days cannot happen with real holidays; a search that
# finds none is a firm that closed every day.
MAX_SEARCH_DAYS = 3660


@dataclass(frozen=True)
class DueIn:
    """What a step's `dueIn` says: a span of calendar time, or a count of open days."""

    kind: str
    span: timedelta = timedelta(0)
    open_days: int = 0


def parse_due_in(text: str) -> DueIn:
    """ "10 court days", "1 business day", "P3D", "3 days"; ValueError with a sentence for
    the person otherwise."""
    stored = normalize_due_in(text)
    counted = open_days_in(stored)
    if counted:
        return DueIn(counted[0], open_days=counted[1])
    return DueIn(CALENDAR, span=parse_duration(stored))


def is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return name in _timezones()


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def jurisdictions() -> dict[str, list[str]]:
    """Country code -> its subdivision codes, as the `holidays` library knows them."""
    return {code: list(subdivs) for code, subdivs in holidays.list_supported_countries().items()}


def jurisdiction_problem(country: str, subdivision: str | None) -> str | None:
    """Why a country + subdivision is not a calendar we can count on, or None."""
    known = holidays.list_supported_countries()
    if country not in known:
        return f"{country!r} is not a country code the holiday calendars know (e.g. US, GB, DE)."
    if subdivision and subdivision not in known[country]:
        sample = ", ".join(list(known[country])[:6])
        return f"{subdivision!r} is not a subdivision of {country} (e.g. {sample})."
    return None


@lru_cache(maxsize=512)
def public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def holiday_name(country: str, subdivision: str | None, day: date) -> str | None:
    return holidays.country_holidays(country, subdiv=subdivision, years=day.year).get(day)


@dataclass(frozen=True)
class FirmCalendar:
    timezone: str = "UTC"
    country: str = "US"
    subdivision: str | None = None
    closures: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in self.closures
            and day not in public_holidays(self.country, self.subdivision, day.year)
        )

    def next_open(self, day: date) -> date:
        """`day` when it is open, else the first open day after it."""
        for offset in range(MAX_SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_open(candidate):
                return candidate
        raise ValueError("The calendar has no open day in ten years.")

    def add_open_days(self, day: date, count: int) -> date:
        """The `count`th open day after `day` (`day` itself is never counted)."""
        for _ in range(count):
            day = self.next_open(day + timedelta(days=1))
        return day

    def subtract_open_days(self, day: date, count: int) -> date:
        """The `count`th open day before `day` (`day` itself is never counted)."""
        for _ in range(count):
            day -= timedelta(days=1)
            for _ in range(MAX_SEARCH_DAYS):
                if self.is_open(day):
                    break
                day -= timedelta(days=1)
        return day


def due_at(start: datetime, due_in: str, calendar: FirmCalendar) -> datetime:
    """When a step that became READY at `start` (aware) is due, in UTC."""
    rule = parse_due_in(due_in)
    zone = calendar.zone
    local = start.astimezone(zone)
    if rule.kind == CALENDAR:
        # Whole days are days on the wall clock (a day across a clock change is still a
        # day); the rest is elapsed time.
        wall = (local.replace(tzinfo=None) + timedelta(days=rule.span.days)).replace(tzinfo=zone)
        end = (wall.astimezone(UTC) + timedelta(seconds=rule.span.seconds)).astimezone(zone)
        day = calendar.next_open(end.date())
        if day != end.date():
            end = _at(day, end.time(), zone)
    else:
        end = _at(calendar.add_open_days(local.date(), rule.open_days), local.time(), zone)
    return end.astimezone(UTC)


def _at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall.replace(tzinfo=None), tzinfo=zone)


def shifted(at: datetime, offset: str, calendar: FirmCalendar, later: bool) -> datetime:
    """`at` moved by a reminder's or an escalation's offset ("P1D", "2 business days"):
    earlier (a reminder before a due time) or later (an escalation after it). Calendar time
    is elapsed time here: a reminder is not moved off a closed day."""
    rule = parse_due_in(offset)
    if rule.kind == CALENDAR:
        return at + rule.span if later else at - rule.span
    zone = calendar.zone
    local = at.astimezone(zone)
    move = calendar.add_open_days if later else calendar.subtract_open_days
    return _at(move(local.date(), rule.open_days), local.time(), zone).astimezone(UTC)
