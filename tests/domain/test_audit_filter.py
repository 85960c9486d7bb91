"""Parsing the auditors' filters: dates and times, and every refusal naming its parameter."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.domain.audit_filter import (
    AuditFilter,
    DecidedBy,
    InvalidFilter,
    month_filter,
    parse_filter,
)


def test_a_date_covers_its_whole_utc_day() -> None:
    flt = parse_filter({"since": "2026-11-01", "until": "2026-11-30"})
    assert flt.since == datetime(2026, 11, 1, tzinfo=UTC)
    assert flt.until == datetime(2026, 12, 1, tzinfo=UTC)


def test_datetimes_are_utc_and_until_includes_its_moment() -> None:
    flt = parse_filter({"since": "2026-11-01T10:00:00+02:00", "until": "2026-11-01T09:30Z"})
    assert flt.since == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert flt.until == datetime(2026, 11, 1, 9, 30, 0, 1, tzinfo=UTC)
    naive = parse_filter({"since": "2026-11-01 10:00"})
    assert naive.since == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def test_values_are_normalised() -> None:
    expense = uuid.uuid4()
    flt = parse_filter(
        {
            "expense_id": expense.hex,
            "submitter": "Alice@Corp.Example",
            "actor": "U0BOB",
            "decided_by": "ai",
            "category": "Meals",
            "min_amount": "10",
            "max_amount": "99.50",
            "unrelated": "ignored",
            "outcome": "",
        }
    )
    assert flt == AuditFilter(
        expense_id=expense,
        submitter="alice@corp.example",
        actor="U0BOB",
        decided_by=DecidedBy.AI,
        category="meals",
        min_amount=Decimal("10"),
        max_amount=Decimal("99.50"),
    )
    assert flt.selects_expenses
    assert not parse_filter({"actor": "Bob@Corp.Example"}).selects_expenses
    assert parse_filter({"actor": "Bob@Corp.Example"}).actor == "bob@corp.example"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("since", "2026-11-31"),
        ("since", "1/11/2026"),
        ("until", "2026-11-01T25:00"),
        ("expense_id", "1234"),
        ("submitter", "no-at-sign"),
        ("actor", "u0lower"),
        ("action", "APPROVED"),
        ("decided_by", "both"),
        ("outcome", "submitted"),
        ("policy_version", "x" * 65),
        ("category", "tab\there"),
        ("min_amount", "1,000"),
        ("max_amount", "12.34567"),
    ],
)
def test_bad_values_are_refused_naming_the_filter(name: str, value: str) -> None:
    with pytest.raises(InvalidFilter) as error:
        parse_filter({name: value})
    assert error.value.field == name
    assert error.value.location == "query"


def test_a_month_is_its_first_day_to_the_next_months_first() -> None:
    assert month_filter("2026-12") == AuditFilter(
        since=datetime(2026, 12, 1, tzinfo=UTC), until=datetime(2027, 1, 1, tzinfo=UTC)
    )
    for bad in ("2026-13", "2026-1", "26-01", "2026-00"):
        with pytest.raises(InvalidFilter):
            month_filter(bad)
