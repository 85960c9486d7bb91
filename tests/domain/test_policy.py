"""Parsing the policy: the FX rate a conversion uses, and the optional audit witness channel."""

from decimal import Decimal
from typing import Any

import pytest

from app.domain.errors import PolicyError
from app.domain.policy import parse_policy

BASE: dict[str, Any] = {
    "version": "v1",
    "currency": "USD",
    "allowed_categories": ["travel"],
    "auto_approve_below": "1000",
    "finance_required_from": "10000",
    "fx_rates": {"eur": "1.08"},
}


def test_fx_rate_is_one_for_the_policy_currency_and_none_when_unknown() -> None:
    policy = parse_policy(BASE)
    assert policy.fx_rate("USD") == Decimal(1)
    assert policy.fx_rate("EUR") == Decimal("1.08")
    assert policy.fx_rate("JPY") is None
    assert policy.to_policy_currency(Decimal("10.00"), "EUR") == Decimal("10.80")


def test_the_witness_channel_is_optional_and_must_be_a_channel_id() -> None:
    assert parse_policy(BASE).audit_witness_channel is None
    assert parse_policy({**BASE, "audit_witness_channel": " C0AUDIT "}).audit_witness_channel == (
        "C0AUDIT"
    )
    for bad in ("", "  ", 42):
        with pytest.raises(PolicyError, match="audit_witness_channel"):
            parse_policy({**BASE, "audit_witness_channel": bad})
