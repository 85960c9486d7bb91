"""Business-hours arithmetic: when a span of working time, counted from a moment, runs out."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.domain.errors import PolicyError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KEYS = frozenset({"start", "end", "days", "timezone", "holidays"})


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Working hours `start`-`end` (local time in `timezone`) on `days` (0 is Monday),
    except on `holidays` (local dates)."""

    start: time
    end: time
    days: frozenset[int]
    timezone: ZoneInfo
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Both make `add` terminate: some day always has some working time.
        if not self.days or self.start >= self.end:
            raise ValueError("a business calendar needs a working day and start before end")

    @property
    def day_length(self) -> timedelta:
        """What "1d" of business time is: one full working day."""
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working hours of a local date, in UTC; None on a day off."""
        if day.weekday() not in self.days or day in self.holidays:
            return None
        opens = datetime.combine(day, self.start, self.timezone).astimezone(UTC)
        closes = datetime.combine(day, self.end, self.timezone).astimezone(UTC)
        return opens, closes

    def add(self, moment: datetime, work: timedelta) -> datetime:
        """The first moment by which `work` of working time has passed since `moment`."""
        left = work
        day = moment.astimezone(self.timezone).date()
        while True:
            hours = self.window(day)
            if hours is not None:
                begin = max(hours[0], moment)
                available = hours[1] - begin
                if available >= left:
                    return begin + left
                if available > timedelta(0):
                    left -= available
            day += timedelta(days=1)


def _clock(table: Mapping[str, Any], key: str) -> time:
    value = table.get(key)
    try:
        if not isinstance(value, str) or len(value) != 5:
            raise ValueError
        return time.fromisoformat(value)
    except ValueError:
        raise PolicyError(f"policy 'business_hours.{key}' must be a time like \"09:00\"") from None


def _days(table: Mapping[str, Any]) -> frozenset[int]:
    days = table.get("days", list(WEEKDAYS[:5]))
    if not isinstance(days, list) or not days or not all(d in WEEKDAYS for d in days):
        raise PolicyError(
            "policy 'business_hours.days' must list working days from "
            f"{', '.join(WEEKDAYS)} (at least one)"
        )
    return frozenset(WEEKDAYS.index(d) for d in days)


def _timezone(table: Mapping[str, Any]) -> ZoneInfo:
    name = table.get("timezone", "UTC")
    try:
        if not isinstance(name, str):
            raise ValueError
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise PolicyError(
            f"policy 'business_hours.timezone': {name!r} is not an IANA time zone "
            '(like "Europe/Berlin")'
        ) from None


def _holidays(table: Mapping[str, Any]) -> frozenset[date]:
    raw = table.get("holidays", [])
    if not isinstance(raw, list):
        raise PolicyError("policy 'business_hours.holidays' must be a list of dates")
    out = set()
    for value in raw:
        if isinstance(value, date) and not isinstance(value, datetime):
            out.add(value)  # TOML's own date literal
            continue
        try:
            out.add(date.fromisoformat(str(value)))
        except ValueError:
            raise PolicyError(
                f"policy 'business_hours.holidays': {value!r} is not a date like 2026-12-25"
            ) from None
    return frozenset(out)


def parse_business_hours(raw: Mapping[str, Any]) -> BusinessCalendar | None:
    """The policy's `[business_hours]` table; None (calendar time) when there is none."""
    table = raw.get("business_hours")
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise PolicyError("policy 'business_hours' must be a table")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise PolicyError(f"policy 'business_hours' has unknown keys: {', '.join(unknown)}")
    start, end = _clock(table, "start"), _clock(table, "end")
    if start >= end:
        raise PolicyError("policy 'business_hours.start' must be before 'business_hours.end'")
    return BusinessCalendar(start, end, _days(table), _timezone(table), _holidays(table))
