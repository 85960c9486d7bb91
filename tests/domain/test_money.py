"""Amounts and currencies: minor units, positivity, ISO 4217."""

from decimal import Decimal

import pytest

from app.domain.errors import InvalidMoney
from app.domain.money import in_minor_units, normalize_currency, parse_amount


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("42.50", "USD", Decimal("42.50")),
        ("1200", "JPY", Decimal("1200")),
        ("0.125", "KWD", Decimal("0.125")),
        (" 7 ", "EUR", Decimal("7.00")),
    ],
)
def test_valid_amounts(text: str, currency: str, expected: Decimal) -> None:
    assert parse_amount(text, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("0", "USD", "more than 0"),
        ("-3.00", "USD", "more than 0"),
        ("42.505", "USD", "at most 2"),
        ("10.5", "JPY", "at most 0"),
        ("abc", "USD", "not a decimal"),
        ("NaN", "USD", "finite"),
        ("Infinity", "USD", "finite"),
        ("1e13", "USD", "too large"),
    ],
)
def test_invalid_amounts(text: str, currency: str, message: str) -> None:
    with pytest.raises(InvalidMoney, match=message):
        parse_amount(text, currency)


def test_currency_codes() -> None:
    assert normalize_currency("eur") == "EUR"
    for bad in ("XYZ", "EURO", "", "us"):
        with pytest.raises(InvalidMoney):
            normalize_currency(bad)


def test_minor_units_rendering() -> None:
    assert in_minor_units(Decimal("42.5000"), "USD") == "42.50"
    assert in_minor_units(Decimal("1200.0000"), "JPY") == "1200"
