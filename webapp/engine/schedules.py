"""When a schedule trigger is due: a cron expression read in a firm's local time (an
IANA zone), turned into UTC instants. Daylight saving is decided here, explicitly:

- A local time that a spring-forward change skips (02:30 on the night clocks jump from
  02:00 to 03:00) fires once, at the first local time after the gap (03:00).
- A local time that a fall-back change repeats (01:30 happens twice) fires once, at its
  first occurrence.

Cron times are walked as wall-clock times (croniter on naive datetimes) and each is then
placed in the zone, so the rules above hold whatever croniter does with aware datetimes."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

# A cron walk never needs more than this to find a time (a yearly schedule steps 1).
MAX_STEPS = 10_000
# Wall-clock times are walked from this far before an instant: a fall-back change
# repeats at most an hour (two, in a few historical zones).
LOOKBACK = timedelta(hours=3)


def check_schedule(cron: str, timezone: str) -> str | None:
    """Why the schedule is not valid, in plain words, or None."""
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        return f"{cron!r} is not a cron expression of five fields (minute hour day month weekday)"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{timezone!r} is not a time zone name such as Europe/London"
    return None


def placed(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time: its first occurrence when it happens twice,
    the end of the gap when the clocks skip it."""
    aware = local.replace(tzinfo=zone, fold=0)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local:
        return aware.astimezone(UTC)
    # Skipped: the first whole minute that exists after it is the end of the gap.
    probe = local
    for _ in range(24 * 60):
        probe = probe.replace(second=0, microsecond=0) + timedelta(minutes=1)
        candidate = probe.replace(tzinfo=zone, fold=0)
        if candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == probe:
            return candidate.astimezone(UTC)
    return aware.astimezone(UTC)  # pragma: no cover - no zone has a day-long gap


def _instants(cron: str, zone: ZoneInfo, start: datetime) -> Iterator[datetime]:
    """The schedule's instants from `start` on, in order, each once."""
    local = (start - LOOKBACK).astimezone(zone).replace(tzinfo=None)
    walk = croniter(cron, local)
    last: datetime | None = None
    for _ in range(MAX_STEPS):
        local_next: datetime = walk.get_next(datetime)
        instant = placed(local_next, zone)
        if instant < start or (last is not None and instant <= last):
            continue  # before the window, or a skipped time already fired at the gap's end
        last = instant
        yield instant


def next_fire_time(cron: str, timezone: str, after: datetime) -> datetime | None:
    """The first instant strictly after `after`."""
    for instant in _instants(cron, ZoneInfo(timezone), after):
        if instant > after:
            return instant
    return None


def due_times(cron: str, timezone: str, since: datetime, until: datetime) -> list[datetime]:
    """The instants from `since` (included) to `until` (included), oldest first; at most
    MAX_STEPS of them."""
    found = []
    for instant in _instants(cron, ZoneInfo(timezone), since):
        if instant > until:
            break
        found.append(instant)
    return found
