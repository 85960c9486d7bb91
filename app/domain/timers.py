"""When an open approval step is reminded, escalated or expired: the policy's durations, and what
is due at a given moment. Pure: the scheduler's tick is a function of `now`."""

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.domain.business_time import BusinessCalendar, parse_business_hours
from app.domain.errors import PolicyError
from app.domain.workflow import Status

DURATION = re.compile(r"([0-9]{1,6})(s|m|h|d)")
UNIT = {"s": timedelta(seconds=1), "m": timedelta(minutes=1), "h": timedelta(hours=1)}
MAX_DURATION = timedelta(days=366)
KEYS = ("remind_after", "escalate_after", "expire_after")


@dataclass(frozen=True, slots=True)
class Duration:
    """A policy duration ("90m", "2d", "15s"); in business time, "1d" is one working day."""

    amount: int
    unit: str

    def span(self, day: timedelta = timedelta(days=1)) -> timedelta:
        return self.amount * (day if self.unit == "d" else UNIT[self.unit])

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def parse_duration(text: str) -> Duration:
    match = DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f'{text!r} is not a duration like "90m", "2d" or "15s"')
    duration = Duration(int(match[1]), match[2])
    if duration.amount == 0 or duration.span() > MAX_DURATION:
        raise ValueError(f"{text!r} must be more than nothing and at most 366 days")
    return duration


@dataclass(frozen=True, slots=True)
class StepTimers:
    """How long a step may wait, counted from when it opened, before each thing happens."""

    remind_after: Duration | None = None
    escalate_after: Duration | None = None
    expire_after: Duration | None = None


@dataclass(frozen=True, slots=True)
class TimerPolicy:
    default: StepTimers = StepTimers()
    by_category: Mapping[str, StepTimers] = field(default_factory=dict)
    # None: durations count calendar time.
    calendar: BusinessCalendar | None = None

    def for_category(self, category: str) -> StepTimers:
        return self.by_category.get(category.strip().lower(), self.default)

    def deadline(self, opened_at: datetime, after: Duration) -> datetime:
        if self.calendar is None:
            return opened_at + after.span()
        return self.calendar.add(opened_at, after.span(self.calendar.day_length))


class TimerAction(StrEnum):
    REMIND = "remind"
    ESCALATE = "escalate"
    EXPIRE = "expire"


@dataclass(frozen=True, slots=True)
class StepClock:
    """What the scheduler knows about one open step."""

    status: Status
    opened_at: datetime
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    # Someone (a manager, or the backup approver) could take the step over.
    can_escalate: bool = False


def due_action(
    clock: StepClock, timers: StepTimers, policy: TimerPolicy, now: datetime
) -> TimerAction | None:
    """The one thing due for this step at `now`, if any.

    An expense expires only when nobody is left to escalate to; one escalation per step.
    Reminders and escalations wait on the approver, so a step waiting on the submitter's answer
    (needs_info) can only expire.
    """

    def passed(after: Duration | None) -> bool:
        return after is not None and now >= policy.deadline(clock.opened_at, after)

    deciding = clock.status == Status.PENDING_APPROVAL
    may_escalate = (
        deciding
        and clock.can_escalate
        and clock.escalated_at is None
        and timers.escalate_after is not None
    )
    if may_escalate and passed(timers.escalate_after):
        return TimerAction.ESCALATE
    if not may_escalate and passed(timers.expire_after):
        return TimerAction.EXPIRE
    if deciding and clock.reminded_at is None and clock.escalated_at is None:
        if passed(timers.remind_after):
            return TimerAction.REMIND
    return None


def _timers(table: Mapping[str, Any], where: str, base: StepTimers, day: timedelta) -> StepTimers:
    unknown = sorted(set(table) - set(KEYS))
    if unknown and where:
        raise PolicyError(f"policy {where!r} has unknown keys: {', '.join(unknown)}")
    values: dict[str, Duration | None] = {}
    for key in KEYS:
        raw = table.get(key)
        label = f"{where}.{key}" if where else key
        if raw is None:
            values[key] = getattr(base, key)
            continue
        try:
            values[key] = parse_duration(raw if isinstance(raw, str) else repr(raw))
        except ValueError as exc:
            raise PolicyError(f"policy {label!r}: {exc}") from None
    timers = StepTimers(**values)
    spans = [(key, d) for key in KEYS if (d := values[key]) is not None]
    for (first, a), (then, b) in zip(spans, spans[1:], strict=False):
        if a.span(day) >= b.span(day):
            scope = f" in {where!r}" if where else ""
            raise PolicyError(f"policy {first!r} must be shorter than {then!r}{scope}")
    return timers


def parse_timers(raw: Mapping[str, Any], categories: Collection[str]) -> TimerPolicy:
    """The top-level `remind_after`, `escalate_after`, `expire_after`, their per-category
    overrides in `[category_timers.NAME]`, and `[business_hours]`."""
    calendar = parse_business_hours(raw)
    day = calendar.day_length if calendar else timedelta(days=1)
    default = _timers(raw, "", StepTimers(), day)
    overrides = raw.get("category_timers", {})
    if not isinstance(overrides, Mapping):
        raise PolicyError("policy 'category_timers' must be a table of categories")
    by_category = {}
    for name, table in overrides.items():
        category = str(name).strip().lower()
        if category not in categories:
            raise PolicyError(f"policy 'category_timers.{name}': not an allowed category")
        if not isinstance(table, Mapping):
            raise PolicyError(f"policy 'category_timers.{name}' must be a table")
        by_category[category] = _timers(table, f"category_timers.{name}", default, day)
    return TimerPolicy(default, by_category, calendar)
