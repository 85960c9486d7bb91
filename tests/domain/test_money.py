"""Amounts and currencies: plain ASCII decimals, minor units, positivity, money in circulation."""

from decimal import Decimal

import pytest

from app.domain.errors import InvalidMoney
from app.domain.money import in_minor_units, normalize_currency, parse_amount


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("42.50", "USD", Decimal("42.50")),
        ("42.5", "USD", Decimal("42.50")),
        ("1200", "JPY", Decimal("1200")),
        ("0.125", "KWD", Decimal("0.125")),
        ("007", "EUR", Decimal("7.00")),
    ],
)
def test_valid_amounts(text: str, currency: str, expected: Decimal) -> None:
    assert parse_amount(text, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("0", "USD", "more than 0"),
        ("0.00", "USD", "more than 0"),
        ("42.505", "USD", "at most 2"),
        ("42.500", "USD", "at most 2"),
        ("10.5", "JPY", "at most 0"),
        ("abc", "USD", "plain decimal"),
        ("NaN", "USD", "plain decimal"),
        ("Infinity", "USD", "plain decimal"),
        ("1e3", "USD", "plain decimal"),
        ("-3.00", "USD", "plain decimal"),
        ("+3.00", "USD", "plain decimal"),
        ("1,000.00", "USD", "plain decimal"),
        ("1_000", "USD", "plain decimal"),
        (" 7", "EUR", "plain decimal"),
        ("7 ", "EUR", "plain decimal"),
        ("7\n", "EUR", "plain decimal"),
        ("\u00a07", "EUR", "plain decimal"),
        ("٣", "USD", "plain decimal"),  # ARABIC-INDIC DIGIT THREE
        ("１２", "USD", "plain decimal"),  # FULLWIDTH digits
        ("1.2.3", "USD", "plain decimal"),
        (".5", "USD", "plain decimal"),
        ("5.", "USD", "plain decimal"),
        ("", "USD", "plain decimal"),
        ("1" * 33, "USD", "plain decimal"),
        ("100000000000000", "USD", "too large"),
    ],
)
def test_invalid_amounts(text: str, currency: str, message: str) -> None:
    with pytest.raises(InvalidMoney, match=message):
        parse_amount(text, currency)


def test_currency_codes_of_money_in_circulation() -> None:
    assert normalize_currency("eur") == "EUR"
    assert normalize_currency("XOF") == "XOF"  # West African CFA franc is real money


@pytest.mark.parametrize(
    "code",
    [
        "XYZ",  # not a code
        "EURO",
        "",
        "us",
        " USD",
        "ÜSD",
        "XXX",  # no currency
        "XTS",  # testing
        "XAU",  # gold
        "XAG",  # silver
        "XDR",  # special drawing rights
        "BOV",  # fund
        "USN",  # next-day dollars
        "CHE",  # WIR euro
        "XSU",  # settlement unit
        "XBA",  # bond market unit
        "DEM",  # withdrawn
    ],
)
def test_codes_that_are_not_money_in_circulation_are_refused(code: str) -> None:
    with pytest.raises(InvalidMoney):
        normalize_currency(code)


def test_minor_units_rendering() -> None:
    assert in_minor_units(Decimal("42.5000"), "USD") == "42.50"
    assert in_minor_units(Decimal("1200.0000"), "JPY") == "1200"
