"""An expense's history: earlier claims of it, and the submitter's spend this month per category."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from app.domain.policy import Policy
from app.domain.workflow import Status

# Expenses that will never be paid are neither duplicated nor count towards a cap.
NOT_PAYABLE = frozenset({Status.REJECTED, Status.CANCELLED, Status.EXPIRED})
# A monthly cap counts what is approved or still waiting for a human.
COUNTS_TOWARDS_CAP = frozenset({Status.APPROVED, Status.PENDING_APPROVAL, Status.NEEDS_INFO})


@dataclass(frozen=True, slots=True)
class PastExpense:
    """The few fields of a stored expense the history rules compare."""

    id: str
    submitter_id: int
    amount: Decimal
    currency: str
    merchant: str
    category: str
    incurred_on: date
    receipt_sha256: str | None
    status: Status
    created_at: datetime


@dataclass(frozen=True, slots=True)
class History:
    # Earlier expenses with the same submitter, amount and merchant within the policy's window.
    duplicates: tuple[str, ...] = ()
    # Earlier expenses, anyone's, with the same receipt.
    same_receipt: tuple[str, ...] = ()
    # The submitter's approved and pending spend in this category and month, in the policy
    # currency, counted only for a category with a monthly cap; None when one of those
    # amounts has no rate in the policy.
    month_spent: Decimal | None = Decimal(0)


def receipt_sha256(receipt_url: str | None) -> str | None:
    """The key two claims of the same receipt share: the SHA-256 of the link as stored."""
    return hashlib.sha256(receipt_url.strip().encode()).hexdigest() if receipt_url else None


def merchant_key(merchant: str) -> str:
    """What two spellings of one merchant share: " CAFÉ " and "café" are the same merchant."""
    return merchant.strip().casefold()


def category_key(category: str) -> str:
    """The category as the rules and caps compare it."""
    return category.strip().lower()


def history_for(policy: Policy, expense: PastExpense, others: Iterable[PastExpense]) -> History:
    """The history of `expense` among `others`, counting only expenses created before it."""
    window = policy.clauses.duplicate_window_days
    merchant = merchant_key(expense.merchant)
    category = category_key(expense.category)
    capped = category in policy.clauses.monthly_caps
    month = (expense.incurred_on.year, expense.incurred_on.month)
    duplicates: list[str] = []
    same_receipt: list[str] = []
    spent: Decimal | None = Decimal(0)
    for other in others:
        if other.id == expense.id or other.created_at >= expense.created_at:
            continue
        payable = other.status not in NOT_PAYABLE
        if payable and expense.receipt_sha256 and other.receipt_sha256 == expense.receipt_sha256:
            same_receipt.append(other.id)
        if other.submitter_id != expense.submitter_id:
            continue
        if (
            payable
            and other.amount == expense.amount
            and other.currency == expense.currency
            and merchant_key(other.merchant) == merchant
            and abs((other.incurred_on - expense.incurred_on).days) <= window
        ):
            duplicates.append(other.id)
        if (
            capped
            and other.status in COUNTS_TOWARDS_CAP
            and category_key(other.category) == category
            and (other.incurred_on.year, other.incurred_on.month) == month
        ):
            converted = policy.to_policy_currency(other.amount, other.currency)
            spent = None if spent is None or converted is None else spent + converted
    return History(tuple(duplicates), tuple(same_receipt), spent)
