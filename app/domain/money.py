"""Money: Decimal amounts in an ISO 4217 currency, validated against the currency's minor unit."""

from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

from app.domain.errors import InvalidMoney


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def minor_unit_digits(currency: str) -> int:
    return int(get_currency_precision(currency))


def normalize_currency(code: str) -> str:
    upper = code.strip().upper()
    if len(upper) != 3 or upper not in _known_currencies():
        raise InvalidMoney(f"{code!r} is not an ISO 4217 currency code")
    return upper


def parse_amount(text: str, currency: str) -> Decimal:
    """Parse a decimal string; it must be positive and fit the currency's minor unit."""
    try:
        amount = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise InvalidMoney(f"{text!r} is not a decimal amount") from exc
    if not amount.is_finite():
        raise InvalidMoney("amount must be a finite number")
    if amount <= 0:
        raise InvalidMoney("amount must be more than 0")
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite decimals have an int exponent
    digits = minor_unit_digits(currency)
    if -exponent > digits:
        raise InvalidMoney(f"{currency} allows at most {digits} decimal places")
    if amount >= Decimal("1e12"):
        raise InvalidMoney("amount is too large")
    return amount.quantize(Decimal(1).scaleb(-digits))


def in_minor_units(amount: Decimal, currency: str) -> str:
    """The amount as text with exactly the currency's decimals ("42.50", "1200" for JPY)."""
    return str(amount.quantize(Decimal(1).scaleb(-minor_unit_digits(currency))))
