"""Firm calendars against dates counted by hand on a 2026 calendar. Each row says how it
was counted: the open days in order, the closed ones in brackets."""

from datetime import UTC, date, datetime

import pytest

from webapp.engine.calendars import BUSINESS, CALENDAR, COURT, FirmCalendar, due_at, parse_due_in
from webapp.engine.definition import StepDefinition, normalize_due_in

NEW_YORK = "America/New_York"


def local(zone: str, *parts: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*parts, tzinfo=ZoneInfo(zone))  # type: ignore[misc]  # year, month, day, hour


COURT_DAYS = [
    # US federal, Fri 16 Jan; Mon 19 Jan is Martin Luther King Jr. Day:
    # [19] 20 21 22 23 | 26 27 28 29 30 | 2 Feb = the 10th.
    ("US", None, date(2026, 1, 16), date(2026, 2, 2)),
    # England, Fri 22 May; Mon 25 May is the Spring Bank Holiday:
    # [25] 26 27 28 29 | 1 2 3 4 5 Jun | 8 Jun = the 10th.
    ("GB", "ENG", date(2026, 5, 22), date(2026, 6, 8)),
    # Bavaria, Fri 22 May; Mon 25 May is Whit Monday and Thu 4 Jun Corpus Christi:
    # [25] 26 27 28 29 | 1 2 3 [4] 5 | 8 9 Jun = the 10th.
    ("DE", "BY", date(2026, 5, 22), date(2026, 6, 9)),
    # Germany without a state: Corpus Christi is not a national holiday, so 8 Jun.
    ("DE", None, date(2026, 5, 22), date(2026, 6, 8)),
    # New York, Wed 11 Feb; Thu 12 Feb is Lincoln's Birthday, Mon 16 Feb Washington's:
    # [12] 13 | [16] 17 18 19 20 | 23 24 25 26 27 Feb = the 10th.
    ("US", "NY", date(2026, 2, 11), date(2026, 2, 27)),
    # US federal from the same Wednesday: only the 16th is closed:
    # 12 13 | [16] 17 18 19 20 | 23 24 25 26 Feb = the 10th.
    ("US", None, date(2026, 2, 11), date(2026, 2, 26)),
]


@pytest.mark.parametrize(("country", "subdivision", "start", "expected"), COURT_DAYS)
def test_ten_court_days_skip_weekends_and_the_jurisdictions_holidays(
    country: str, subdivision: str | None, start: date, expected: date
) -> None:
    calendar = FirmCalendar("UTC", country, subdivision)
    at = datetime(start.year, start.month, start.day, 15, 30, tzinfo=UTC)
    assert due_at(at, "10 court days", calendar) == datetime(
        expected.year, expected.month, expected.day, 15, 30, tzinfo=UTC
    )


BUSINESS_DAYS = [
    # New York, Fri 18 Dec 16:00, the firm closed on Thu 24 Dec, Fri 25 Dec Christmas:
    # 21 22 23 [24] [25] | 28 29 Dec = the 5th, at 16:00 New York time.
    (NEW_YORK, "US", None, (2026, 12, 18, 16), 5, {date(2026, 12, 24)}, (2026, 12, 29, 16)),
    # The same without the closure day: 21 22 23 [25] 28 = the 5th.
    (NEW_YORK, "US", None, (2026, 12, 18, 16), 5, set(), (2026, 12, 28, 16)),
    # London, Wed 23 Dec 09:00; Fri 25 Christmas, Mon 28 Boxing Day (observed):
    # 24 [25] | [28] 29 30 Dec = the 3rd.
    ("Europe/London", "GB", "ENG", (2026, 12, 23, 9), 3, set(), (2026, 12, 30, 9)),
    # New York, Fri 30 Oct 16:00 (EDT): 1 business day is Mon 2 Nov 16:00 (EST), the same
    # local time although the clocks went back in between.
    (NEW_YORK, "US", None, (2026, 10, 30, 16), 1, set(), (2026, 11, 2, 16)),
]


@pytest.mark.parametrize(
    ("zone", "country", "subdivision", "start", "days", "closures", "expected"), BUSINESS_DAYS
)
def test_business_days_end_at_the_same_local_time_on_the_nth_open_day(
    zone: str,
    country: str,
    subdivision: str | None,
    start: tuple[int, ...],
    days: int,
    closures: set[date],
    expected: tuple[int, ...],
) -> None:
    calendar = FirmCalendar(zone, country, subdivision, frozenset(closures))
    due = due_at(local(zone, *start), f"{days} business days", calendar)
    assert due == local(zone, *expected).astimezone(UTC)


ROLL_FORWARD = [
    # New York, Tue 22 Dec 16:00 + P3D = Fri 25 Dec, Christmas: rolls to Mon 28 Dec 16:00.
    (NEW_YORK, "US", None, (2026, 12, 22, 16), "P3D", (2026, 12, 28, 16)),
    # London, Wed 23 Dec 10:00 + 3 days = Sat 26 Dec; Sun 27; Mon 28 Boxing Day (observed):
    # rolls to Tue 29 Dec 10:00.
    ("Europe/London", "GB", "ENG", (2026, 12, 23, 10), "3 days", (2026, 12, 29, 10)),
    # Hours count too: Fri 4 Dec 22:00 New York + PT4H = Sat 02:00 -> Mon 7 Dec 02:00.
    (NEW_YORK, "US", None, (2026, 12, 4, 22), "PT4H", (2026, 12, 7, 2)),
    # An end on an open day stays as it is: Mon 7 Dec 09:00 + P2D = Wed 9 Dec 09:00.
    (NEW_YORK, "US", None, (2026, 12, 7, 9), "P2D", (2026, 12, 9, 9)),
]


@pytest.mark.parametrize(
    ("zone", "country", "subdivision", "start", "due_in", "expected"), ROLL_FORWARD
)
def test_calendar_time_ending_on_a_closed_day_rolls_forward_to_the_next_open_day(
    zone: str,
    country: str,
    subdivision: str | None,
    start: tuple[int, ...],
    due_in: str,
    expected: tuple[int, ...],
) -> None:
    calendar = FirmCalendar(zone, country, subdivision)
    assert due_at(local(zone, *start), due_in, calendar) == local(zone, *expected).astimezone(UTC)


def test_a_start_on_a_closed_day_counts_from_the_next_open_day_when_counting_open_days() -> None:
    # Sat 5 Dec: the first business day after it is Mon 7 Dec.
    calendar = FirmCalendar("UTC", "US")
    saturday = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)
    assert due_at(saturday, "1 business day", calendar) == datetime(2026, 12, 7, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "stored", "kind"),
    [
        ("10 court days", "10 court days", COURT),
        ("10  Court Days", "10 court days", COURT),
        ("1 business day", "1 business day", BUSINESS),
        ("1 business days", "1 business day", BUSINESS),
        ("3 days", "P3D", CALENDAR),
        ("p1dt2h", "P1DT2H", CALENDAR),
    ],
)
def test_due_in_is_stored_in_one_form_when_written_in_several(
    typed: str, stored: str, kind: str
) -> None:
    assert normalize_due_in(typed) == stored
    assert parse_due_in(stored).kind == kind


@pytest.mark.parametrize(
    "typed", ["10 court dayz", "ten court days", "0 business days", "court days"]
)
def test_due_in_is_refused_with_a_sentence_when_it_is_not_a_due_time(typed: str) -> None:
    with pytest.raises(ValueError, match=r"(court|business) days"):
        normalize_due_in(typed)
    with pytest.raises(ValueError, match=r"(court|business) days"):
        StepDefinition.model_validate({"title": "File", "actionType": "CHECKLIST", "dueIn": typed})
