"""Compares what a receipt says (read by a vision model) with what was claimed: a pure rule."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.domain.money import in_minor_units

# Rounding and tax-line differences within this share of the claim are not a mismatch.
TOTAL_TOLERANCE = Decimal("0.01")
# A receipt dated a little apart from the claim (a late-night bill, a time zone) still matches.
DATE_TOLERANCE_DAYS = 1


@dataclass(frozen=True, slots=True)
class ReceiptReading:
    """The figures a model read off the receipt; any of them may be unreadable (None)."""

    total: Decimal | None
    currency: str | None
    date: date | None
    merchant: str | None

    def as_text(self) -> str:
        """The figures as the card shows them, "?" for each the model could not read."""
        parts = [
            f"{self.total} {self.currency or '?'}" if self.total is not None else "total ?",
            self.date.isoformat() if self.date else "date ?",
            self.merchant or "merchant ?",
        ]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class ReceiptUnread:
    """Why the receipt was not read: vision is off, the type is not readable, the model failed."""

    reason: str


@dataclass(frozen=True, slots=True)
class Claim:
    amount: Decimal
    currency: str
    incurred_on: date | None
    merchant: str

    @property
    def amount_text(self) -> str:
        return in_minor_units(self.amount, self.currency)

    def as_text(self) -> str:
        day = self.incurred_on or "date ?"
        return f"{self.amount_text} {self.currency}, {day}, {self.merchant}"


def _words(text: str) -> set[str]:
    return {w for w in "".join(c if c.isalnum() else " " for c in text.casefold()).split() if w}


def merchant_matches(read: str, claimed: str) -> bool:
    """Shares a word: "Cafe Roma Ltd" matches "cafe roma"; receipts rarely print the brand alone."""
    return bool(_words(read) & _words(claimed))


def mismatches(reading: ReceiptReading, claim: Claim) -> list[str]:
    """What the receipt contradicts; figures the model could not read contradict nothing."""
    found = []
    if reading.total is not None:
        same_currency = reading.currency is None or reading.currency.upper() == claim.currency
        if not same_currency:
            found.append(f"currency {reading.currency} on the receipt, {claim.currency} claimed")
        elif abs(reading.total - claim.amount) > claim.amount * TOTAL_TOLERANCE:
            found.append(f"total {reading.total} on the receipt, {claim.amount_text} claimed")
    if reading.date is not None and claim.incurred_on is not None:
        apart = abs((reading.date - claim.incurred_on).days)
        if apart > DATE_TOLERANCE_DAYS:
            found.append(f"date {reading.date} on the receipt, {claim.incurred_on} claimed")
    if reading.merchant and not merchant_matches(reading.merchant, claim.merchant):
        found.append(f"merchant {reading.merchant!r} on the receipt, {claim.merchant!r} claimed")
    return found
