"""Receipt types told by content, and a receipt's figures compared with the claim (pure)."""

from datetime import date
from decimal import Decimal

import pytest

from app.domain.policy import Policy
from app.domain.receipt_check import Claim, ReceiptReading, ReceiptUnread, mismatches
from app.domain.receipt_files import ReceiptType, sniff
from app.domain.rules import ExpenseFacts, receipt_matches

CLAIM = Claim(Decimal("42.50"), "EUR", date(2026, 11, 20), "Cafe Roma")
POLICY = Policy("v1", "EUR", Decimal(100), 0.9, Decimal(1000), frozenset({"meals"}))


def reading(
    total: str | None = "42.50",
    currency: str | None = "EUR",
    day: date | None = date(2026, 11, 20),
    merchant: str | None = "CAFE ROMA LTD",
) -> ReceiptReading:
    return ReceiptReading(None if total is None else Decimal(total), currency, day, merchant)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n", ReceiptType.PDF),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ReceiptType.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", ReceiptType.JPEG),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", ReceiptType.HEIC),
        (b"GIF89a\x01\x00", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"PK\x03\x04", None),
        (b"", None),
    ],
)
def test_the_type_is_read_from_the_leading_bytes(head: bytes, expected: ReceiptType | None) -> None:
    assert sniff(head + b"\x00" * 64) is expected


@pytest.mark.parametrize(
    "read",
    [
        reading(),
        reading(total="42.80"),  # within 1 %
        reading(day=date(2026, 11, 21)),  # a day apart
        reading(total=None, currency=None, day=None, merchant=None),  # nothing readable
        reading(currency=None),
    ],
)
def test_what_agrees_or_cannot_be_read_is_no_mismatch(read: ReceiptReading) -> None:
    assert mismatches(read, CLAIM) == []


@pytest.mark.parametrize(
    ("read", "found"),
    [
        (reading(total="52.50"), "total 52.50 on the receipt, 42.50 claimed"),
        (reading(currency="USD"), "currency USD on the receipt, EUR claimed"),
        (reading(day=date(2026, 10, 2)), "date 2026-10-02 on the receipt, 2026-11-20 claimed"),
        (reading(merchant="Steakhouse"), "merchant 'Steakhouse' on the receipt"),
    ],
)
def test_each_contradiction_names_both_figures(read: ReceiptReading, found: str) -> None:
    [mismatch] = mismatches(read, CLAIM)
    assert mismatch.startswith(found)


def facts(read: ReceiptReading | ReceiptUnread | None) -> ExpenseFacts:
    return ExpenseFacts(
        CLAIM.amount,
        "EUR",
        "meals",
        True,
        merchant=CLAIM.merchant,
        incurred_on=CLAIM.incurred_on,
        receipt_reading=read,
    )


def test_a_mismatch_fails_the_rule_with_the_figures() -> None:
    result = receipt_matches(POLICY, facts(reading(total="99.00")), CLAIM.amount)
    assert not result.passed
    assert result.detail == "total 99.00 on the receipt, 42.50 claimed"
    assert result.figure == "99.00 EUR, 2026-11-20, CAFE ROMA LTD"
    assert result.limit == "42.50 EUR, 2026-11-20, Cafe Roma"


def test_a_matching_unread_or_missing_receipt_passes_and_says_why() -> None:
    assert receipt_matches(POLICY, facts(reading()), None).detail == "the receipt matches the claim"
    unread = receipt_matches(POLICY, facts(ReceiptUnread("OPENAI_VISION is off")), None)
    assert (unread.passed, unread.detail) == (True, "receipt not read: OPENAI_VISION is off")
    assert receipt_matches(POLICY, facts(None), None).detail == "no uploaded receipt to read"


def test_the_claim_is_shown_with_its_currency_s_decimals() -> None:
    """Amounts are stored with four decimals; the card shows the claim as it was made."""
    stored = Claim(Decimal("1500.0000"), "USD", None, "Grand Hotel")
    assert stored.as_text() == "1500.00 USD, date ?, Grand Hotel"
    [mismatch] = mismatches(reading(total="1900.00", currency="USD", merchant=None), stored)
    assert mismatch == "total 1900.00 on the receipt, 1500.00 claimed"
