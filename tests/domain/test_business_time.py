"""Business-hours arithmetic: examples across weekends, holidays and DST, and its properties."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.business_time import BusinessCalendar, parse_business_hours
from app.domain.errors import PolicyError

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = BusinessCalendar(
    time(9), time(17), frozenset(range(5)), BERLIN, frozenset({date(2026, 12, 25)})
)


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def test_friday_afternoon_plus_two_hours_is_monday_morning() -> None:
    # Friday 2026-12-04 16:00 Berlin: one hour left that day, one more on Monday.
    assert NINE_TO_FIVE.add(berlin(2026, 12, 4, 16), timedelta(hours=2)) == berlin(2026, 12, 7, 10)


def test_time_outside_hours_counts_from_the_next_opening() -> None:
    assert NINE_TO_FIVE.add(berlin(2026, 12, 5, 12), timedelta(minutes=30)) == berlin(
        2026, 12, 7, 9, 30
    )
    assert NINE_TO_FIVE.add(berlin(2026, 12, 7, 6), timedelta(hours=1)) == berlin(2026, 12, 7, 10)


def test_holidays_are_skipped() -> None:
    # Thursday 24th 16:00 + 2h: 1h on the 24th, the 25th is a holiday, 26-27 a weekend.
    assert NINE_TO_FIVE.add(berlin(2026, 12, 24, 16), timedelta(hours=2)) == berlin(
        2026, 12, 28, 10
    )


def test_a_working_day_across_the_dst_change_is_eight_real_hours() -> None:
    # 2026-03-29 is a Sunday (clocks go forward); Friday 16:00 + 2h is Monday 10:00 CEST.
    assert NINE_TO_FIVE.add(berlin(2026, 3, 27, 16), timedelta(hours=2)) == berlin(2026, 3, 30, 10)


ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
calendars = st.builds(
    lambda start, hours, days, zone, holidays: BusinessCalendar(
        time(start), time(start + hours), days, ZoneInfo(zone), holidays
    ),
    st.integers(0, 12),
    st.integers(1, 11),
    st.frozensets(st.integers(0, 6), min_size=1),
    ZONES,
    st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=20),
)
moments = st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 30), timezones=st.just(UTC))
spans = st.timedeltas(timedelta(0), timedelta(days=20)).map(lambda d: d - d % timedelta(seconds=1))


@given(calendars, moments, spans, spans)
def test_adding_in_two_parts_is_adding_the_sum(
    cal: BusinessCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    assert cal.add(cal.add(start, a), b) == cal.add(start, a + b)


@given(calendars, moments, spans, spans)
def test_more_work_never_ends_earlier_and_never_beats_the_clock(
    cal: BusinessCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    short, long = sorted((a, b))
    assert start + short <= cal.add(start, short) <= cal.add(start, long)


@given(calendars, moments, spans.filter(bool))
def test_a_deadline_falls_inside_working_hours_of_a_working_day(
    cal: BusinessCalendar, start: datetime, work: timedelta
) -> None:
    end = cal.add(start, work)
    local = end.astimezone(cal.timezone)
    # The deadline closes a stretch of work: inside a window, or at its very end.
    hours = cal.window(local.date())
    assert hours is not None
    assert hours[0] < end <= hours[1]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"start": "9:00", "end": "17:00"}, "business_hours.start"),
        ({"start": "17:00", "end": "09:00"}, "must be before"),
        ({"start": "09:00", "end": "17:00", "days": []}, "business_hours.days"),
        ({"start": "09:00", "end": "17:00", "days": ["monday"]}, "business_hours.days"),
        ({"start": "09:00", "end": "17:00", "timezone": "Mars/Base"}, "IANA time zone"),
        ({"start": "09:00", "end": "17:00", "holidays": ["xmas"]}, "business_hours.holidays"),
        ({"start": "09:00", "end": "17:00", "weekend": ["sat"]}, "unknown keys: weekend"),
    ],
)
def test_bad_business_hours_are_named(table: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_business_hours({"business_hours": table})


def test_business_hours_read_from_the_policy() -> None:
    cal = parse_business_hours(
        {
            "business_hours": {
                "start": "08:30",
                "end": "16:30",
                "days": ["mon", "tue"],
                "timezone": "America/New_York",
                "holidays": [date(2026, 12, 25), "2027-01-01"],
            }
        }
    )
    assert cal is not None
    assert (cal.start, cal.end, cal.days) == (time(8, 30), time(16, 30), frozenset({0, 1}))
    assert cal.holidays == {date(2026, 12, 25), date(2027, 1, 1)}
    assert cal.day_length == timedelta(hours=8)
    assert parse_business_hours({}) is None
