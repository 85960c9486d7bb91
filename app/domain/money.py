"""Money: Decimal amounts in an ISO 4217 currency, validated against the currency's minor unit."""

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel.core import get_global
from babel.numbers import get_currency_precision, get_territory_currencies

from app.domain.errors import InvalidMoney

# Digits and at most one dot with digits after it: no sign, exponent, grouping or spaces.
# `[0-9]`, not `\d`, which would also accept other scripts' digits.
PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# The amount column is NUMERIC(18, 4): anything at or above this cannot be stored.
STORABLE_BELOW = Decimal("1e14")


@lru_cache(maxsize=1)
def circulating_currencies() -> frozenset[str]:
    """Legal tender somewhere today, per CLDR: no funds, metals, test or settlement codes."""
    today = date.today()
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, start_date=today, tender=True))
    return frozenset(codes)


def minor_unit_digits(currency: str) -> int:
    return int(get_currency_precision(currency))


def normalize_currency(code: str) -> str:
    """An ISO 4217 code of money in circulation, in upper case."""
    if not (len(code) == 3 and code.isascii() and code.isalpha()):
        raise InvalidMoney("currency must be a three-letter ISO 4217 code such as EUR")
    upper = code.upper()
    if upper not in circulating_currencies():
        raise InvalidMoney(f"{upper} is not a currency in circulation")
    return upper


def parse_amount(text: str, currency: str) -> Decimal:
    """A plain ASCII decimal string; positive and within the currency's minor unit."""
    if len(text) > 32 or not PLAIN_DECIMAL.fullmatch(text):
        raise InvalidMoney("amount must be a plain decimal such as 42.50 (digits and one '.')")
    amount = Decimal(text)
    if amount <= 0:
        raise InvalidMoney("amount must be more than 0")
    digits = minor_unit_digits(currency)
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite decimals have an int exponent
    if -exponent > digits:
        raise InvalidMoney(f"{currency} allows at most {digits} decimal places")
    if amount >= STORABLE_BELOW:
        raise InvalidMoney("amount is too large")
    return amount.quantize(Decimal(1).scaleb(-digits))


def in_minor_units(amount: Decimal, currency: str) -> str:
    """The amount as text with exactly the currency's decimals ("42.50", "1200" for JPY)."""
    return str(amount.quantize(Decimal(1).scaleb(-minor_unit_digits(currency))))
