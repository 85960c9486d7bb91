"""The reports' rules: a reproducible sample, decisions against the advice, time per step."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.domain.audit_filter import InvalidFilter
from app.domain.audit_reports import (
    DecisionTime,
    StepEvent,
    against_advice,
    decision_times,
    draw_sample,
    parse_rate,
    parse_seed,
    timing_rows,
)

KEYS = [str(uuid.UUID(int=i)) for i in range(1, 101)]


def test_the_sample_is_the_keys_ranking_first_by_sha256_of_seed_and_key() -> None:
    expected = sorted(KEYS, key=lambda k: hashlib.sha256(f"s1\n{k}".encode()).hexdigest())[:5]
    assert draw_sample(KEYS, Decimal("0.05"), "s1") == expected


def test_the_same_seed_draws_the_same_sample_whatever_the_order() -> None:
    shuffled = KEYS[::-1] + KEYS[:10]  # another order, with repeats
    assert draw_sample(shuffled, Decimal("0.1"), "seed") == draw_sample(
        KEYS, Decimal("0.1"), "seed"
    )
    assert draw_sample(KEYS, Decimal("0.1"), "seed") != draw_sample(KEYS, Decimal("0.1"), "other")


@pytest.mark.parametrize(
    ("count", "rate", "size"),
    [(0, "0.05", 0), (1, "0.05", 1), (20, "0.05", 1), (21, "0.05", 2), (7, "1", 7)],
)
def test_the_sample_size_rounds_up(count: int, rate: str, size: int) -> None:
    assert len(draw_sample(KEYS[:count], Decimal(rate), "x")) == size


def test_rates_and_seeds_are_parsed_or_refused_by_name() -> None:
    assert parse_rate("0.05") == Decimal("0.05")
    assert parse_rate("5%") == Decimal("0.05")
    assert parse_rate("100%") == Decimal(1)
    for bad in ("0", "1.5", "-0.1", "abc", "5 %", "NaN", "1e-2", ""):
        with pytest.raises(InvalidFilter) as error:
            parse_rate(bad)
        assert error.value.field == "rate"
    assert parse_seed("2026-11") == "2026-11"
    with pytest.raises(InvalidFilter):
        parse_seed("has space")


@pytest.mark.parametrize(
    ("action", "recommendation", "against"),
    [
        ("approved", "reject", True),
        ("step_approved", "reject", True),
        ("rejected", "approve", True),
        ("approved", "approve", False),
        ("rejected", "reject", False),
        ("rejected", "needs_review", False),
        ("approved", None, False),
        ("commented", "reject", False),
    ],
)
def test_against_the_advice(action: str, recommendation: str | None, against: bool) -> None:
    assert against_advice(action, recommendation) is against


T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_each_step_waits_from_its_opening_to_its_decision() -> None:
    events = [
        StepEvent(1, "routed_to_human", T0),
        StepEvent(2, "step_approved", T0 + timedelta(hours=2), 0, "approver", "ann@x"),
        StepEvent(3, "approved", T0 + timedelta(hours=5), 1, "finance", "fin@x"),
    ]
    assert decision_times(events) == [
        DecisionTime(2, 0, "approver", "ann@x", 7200.0),
        DecisionTime(3, 1, "finance", "fin@x", 10800.0),
    ]


def test_a_decision_whose_step_never_opened_is_not_timed() -> None:
    assert decision_times([StepEvent(9, "rejected", T0, 0, "approver", "a@x")]) == []


def test_timing_rows_give_median_p90_and_max_per_step_and_approver() -> None:
    times = [DecisionTime(i, 0, "approver", "ann@x", float(s)) for i, s in enumerate(range(1, 11))]
    times.append(DecisionTime(99, 1, "finance", "fin@x", 100.0))
    rows = timing_rows(times)
    assert rows == [
        ("step", "1 approver", 10, 6, 9, 10),
        ("step", "2 finance", 1, 100, 100, 100),
        ("approver", "fin@x", 1, 100, 100, 100),
        ("approver", "ann@x", 10, 6, 9, 10),
    ]
