"""Parsing the decision clauses: each is optional, and every bad value is named by its field."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.domain.policy import parse_policy, policy_problems
from app.domain.policy_clauses import Forbidden, InvalidPolicy, RuleAction
from app.policy_loader import load_policy
from app.settings import DEFAULT_POLICY_FILE

BASE: dict[str, Any] = {
    "version": "v1",
    "currency": "USD",
    "allowed_categories": ["travel", "meals"],
    "auto_approve_below": "1000",
    "finance_required_from": "10000",
}


def test_absent_clauses_change_nothing() -> None:
    clauses = parse_policy(BASE).clauses
    assert clauses.forbidden_merchants == clauses.forbidden_keywords == ()
    assert clauses.duplicate_window_days == 30
    assert clauses.duplicate_action is RuleAction.FLAG
    assert not clauses.shadow_mode
    assert not clauses.flag_weekends
    assert clauses.monthly_caps == {}


def test_every_clause_is_read() -> None:
    clauses = parse_policy(
        {
            **BASE,
            "shadow_mode": True,
            "forbidden_merchants": [{"match": " Lucky Casino ", "action": "reject"}],
            "forbidden_keywords": [{"match": "Gift Card", "action": "flag"}],
            "duplicates": {"window_days": 14, "action": "reject"},
            "monthly_caps": {"Meals": "600"},
            "calendar": {"flag_weekends": True, "holidays": [date(2026, 12, 25), "2027-01-01"]},
            "auto_approve_below_by_category": {"meals": "150"},
        }
    ).clauses
    assert clauses.shadow_mode
    assert clauses.forbidden_merchants == (Forbidden("lucky casino", RuleAction.REJECT),)
    assert clauses.forbidden_keywords == (Forbidden("gift card", RuleAction.FLAG),)
    assert (clauses.duplicate_window_days, clauses.duplicate_action) == (14, RuleAction.REJECT)
    assert clauses.monthly_caps == {"meals": Decimal("600")}
    assert clauses.holidays == {date(2026, 12, 25), date(2027, 1, 1)}
    assert clauses.auto_approve_below_by_category == {"meals": Decimal("150")}


def test_every_bad_field_is_named_with_its_reason() -> None:
    bad = {
        **BASE,
        "shadow_mode": "yes",
        "forbidden_merchants": [{"match": "casino", "action": "delete"}, {"action": "flag"}],
        "duplicates": {"window_days": 0},
        "monthly_caps": {"meals": "lots"},
        "calendar": {"holidays": ["25/12/2026"]},
        "auto_approve_below_by_category": {"meals": "5000"},
    }
    with pytest.raises(InvalidPolicy) as caught:
        parse_policy(bad)
    named = {p.field: p.reason for p in caught.value.problems}
    assert named == {
        "shadow_mode": "must be true or false",
        "forbidden_merchants[0].action": 'must be "flag" or "reject"',
        "forbidden_merchants[1].match": "must be a non-empty string",
        "duplicates.window_days": "must be a whole number of days, at least 1",
        "monthly_caps.meals": "is not a decimal",
        "calendar.holidays": "'25/12/2026' is not a date (2026-12-25)",
        "auto_approve_below_by_category.meals": (
            "5000 is above the global auto_approve_below (1000)"
        ),
    }


def test_problems_include_the_base_policy_error_and_are_empty_for_a_valid_policy() -> None:
    assert policy_problems(BASE) == []
    problems = policy_problems({**BASE, "currency": "XX", "shadow_mode": 1})
    assert [p.field for p in problems] == ["currency", "shadow_mode"]


def test_the_shipped_policy_decides_with_its_clauses() -> None:
    clauses = load_policy(DEFAULT_POLICY_FILE).clauses
    assert clauses.forbidden_merchants
    assert clauses.forbidden_keywords
    assert any(f.action is RuleAction.REJECT for f in clauses.forbidden_merchants)
    assert clauses.monthly_caps
    assert clauses.auto_approve_below_by_category
    assert clauses.duplicate_window_days == 30
    assert not clauses.shadow_mode
