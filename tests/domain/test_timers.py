"""Timers: durations, the policy keys and their errors, and what a tick finds due."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import PolicyError
from app.domain.policy import parse_policy
from app.domain.timers import (
    Duration,
    StepClock,
    StepTimers,
    TimerAction,
    TimerPolicy,
    due_action,
    parse_duration,
    parse_timers,
)
from app.domain.workflow import Status

OPENED = datetime(2026, 12, 1, 9, tzinfo=UTC)
TIMERS = StepTimers(Duration(1, "h"), Duration(2, "h"), Duration(3, "h"))
CALENDAR_TIME = TimerPolicy(TIMERS)


def test_durations_are_the_policys_own_syntax() -> None:
    assert parse_duration("90m").span() == timedelta(minutes=90)
    assert parse_duration("2d").span() == timedelta(days=2)
    assert parse_duration("15s").span() == timedelta(seconds=15)
    assert parse_duration("2d").span(timedelta(hours=8)) == timedelta(hours=16)
    for bad in ("", "2", "1.5h", "2 d", "-1h", "0m", "2w", "1h30m", "400d", "\uff12d"):
        with pytest.raises(ValueError, match="duration|more than nothing"):
            parse_duration(bad)


def at(**after: int) -> datetime:
    return OPENED + timedelta(**after)


def clock(**changes: Any) -> StepClock:
    return StepClock(
        **{"status": Status.PENDING_APPROVAL, "opened_at": OPENED, "can_escalate": True, **changes}
    )


def test_remind_then_escalate_then_expire() -> None:
    assert due_action(clock(), TIMERS, CALENDAR_TIME, at(minutes=59)) is None
    assert due_action(clock(), TIMERS, CALENDAR_TIME, at(hours=1)) is TimerAction.REMIND
    reminded = clock(reminded_at=at(hours=1))
    assert due_action(reminded, TIMERS, CALENDAR_TIME, at(minutes=90)) is None
    assert due_action(reminded, TIMERS, CALENDAR_TIME, at(hours=2)) is TimerAction.ESCALATE
    escalated = clock(reminded_at=at(hours=1), escalated_at=at(hours=2))
    assert due_action(escalated, TIMERS, CALENDAR_TIME, at(minutes=170)) is None
    assert due_action(escalated, TIMERS, CALENDAR_TIME, at(hours=3)) is TimerAction.EXPIRE


def test_far_in_the_future_a_step_escalates_before_it_can_expire() -> None:
    assert due_action(clock(), TIMERS, CALENDAR_TIME, at(days=30)) is TimerAction.ESCALATE


def test_with_nobody_to_escalate_to_the_step_expires() -> None:
    alone = clock(can_escalate=False)
    assert due_action(alone, TIMERS, CALENDAR_TIME, at(hours=2)) is TimerAction.REMIND
    assert due_action(alone, TIMERS, CALENDAR_TIME, at(hours=3)) is TimerAction.EXPIRE


def test_a_step_waiting_on_the_submitter_is_neither_reminded_nor_escalated() -> None:
    asked = clock(status=Status.NEEDS_INFO)
    assert due_action(asked, TIMERS, CALENDAR_TIME, at(hours=2, minutes=59)) is None
    assert due_action(asked, TIMERS, CALENDAR_TIME, at(hours=3)) is TimerAction.EXPIRE


def test_keys_left_out_switch_that_timer_off() -> None:
    only_expiry = StepTimers(expire_after=Duration(1, "d"))
    assert due_action(clock(), only_expiry, CALENDAR_TIME, at(hours=23)) is None
    assert due_action(clock(), only_expiry, CALENDAR_TIME, at(days=1)) is TimerAction.EXPIRE
    assert due_action(clock(), StepTimers(), CALENDAR_TIME, at(days=365)) is None


ticks = st.lists(st.integers(0, 5 * 3600), min_size=1, max_size=12).map(sorted)


@given(ticks, st.booleans())
def test_whatever_the_ticks_each_thing_happens_once_and_in_order(
    seconds: list[int], can_escalate: bool
) -> None:
    """Applying what each tick finds due, as the scheduler does, never repeats anything."""
    state = clock(can_escalate=can_escalate)
    happened: list[TimerAction] = []
    for second in seconds:
        now = at(seconds=second)
        action = due_action(state, TIMERS, CALENDAR_TIME, now)
        # A repeated tick at the same moment finds the same thing, and applying it once suffices.
        assert due_action(state, TIMERS, CALENDAR_TIME, now) is action
        if action is TimerAction.REMIND:
            state = clock(can_escalate=can_escalate, reminded_at=now)
        elif action is TimerAction.ESCALATE:
            state = clock(
                can_escalate=can_escalate, reminded_at=state.reminded_at, escalated_at=now
            )
        elif action is TimerAction.EXPIRE:
            state = clock(can_escalate=can_escalate, status=Status.EXPIRED)
        if action is not None:
            happened.append(action)
        if state.status == Status.EXPIRED:
            break
    assert len(happened) == len(set(happened))
    order = [TimerAction.REMIND, TimerAction.ESCALATE, TimerAction.EXPIRE]
    assert happened == sorted(happened, key=order.index)
    if not can_escalate:
        assert TimerAction.ESCALATE not in happened


POLICY = {
    "version": "t",
    "currency": "USD",
    "auto_approve_below": "100",
    "finance_required_from": "1000",
    "allowed_categories": ["travel", "meals"],
}


def test_policy_keys_with_per_category_overrides() -> None:
    policy = parse_policy(
        {
            **POLICY,
            "remind_after": "1d",
            "escalate_after": "2d",
            "expire_after": "5d",
            "category_timers": {"meals": {"remind_after": "4h", "expire_after": "3d"}},
        }
    )
    timers = policy.timers
    assert timers.for_category("travel") == StepTimers(
        Duration(1, "d"), Duration(2, "d"), Duration(5, "d")
    )
    assert timers.for_category(" Meals ") == StepTimers(
        Duration(4, "h"), Duration(2, "d"), Duration(3, "d")
    )
    assert parse_policy(POLICY).timers == TimerPolicy()


def test_business_time_counts_working_days() -> None:
    raw = {"start": "09:00", "end": "17:00", "timezone": "UTC"}
    policy = parse_timers({"business_hours": raw, "remind_after": "1d"}, ())
    friday_noon = datetime(2026, 12, 4, 12, tzinfo=UTC)
    assert policy.deadline(friday_noon, Duration(1, "d")) == datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"remind_after": "2x"}, "'remind_after': '2x' is not a duration"),
        ({"expire_after": 3}, "'expire_after': '3' is not a duration"),
        ({"remind_after": "2d", "escalate_after": "1d"}, "'remind_after' must be shorter"),
        ({"escalate_after": "3d", "expire_after": "3d"}, "'escalate_after' must be shorter"),
        ({"category_timers": {"golf": {"remind_after": "1h"}}}, "golf': not an allowed"),
        ({"category_timers": {"meals": {"remind": "1h"}}}, "unknown keys: remind"),
        ({"category_timers": {"meals": "1h"}}, "'category_timers.meals' must be a table"),
        (
            {"expire_after": "2d", "category_timers": {"meals": {"escalate_after": "3d"}}},
            "'escalate_after' must be shorter than 'expire_after' in 'category_timers.meals'",
        ),
    ],
)
def test_bad_timer_keys_are_named(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy({**POLICY, **extra})
