"""Reading an expense's history (earlier claims, this month's spend) for the pure history rules."""

from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Executable, bindparam, func, or_, select
from sqlalchemy.orm import Session

from app.domain.history import (
    COUNTS_TOWARDS_CAP,
    NOT_PAYABLE,
    History,
    PastExpense,
    category_key,
    history_for,
)
from app.domain.policy import Policy
from app.domain.workflow import Status
from models import Expense

PAST_COLUMNS = (
    Expense.id,
    Expense.submitter_id,
    Expense.amount,
    Expense.currency,
    Expense.merchant,
    Expense.category,
    Expense.incurred_on,
    Expense.receipt_sha256,
    Expense.status,
    Expense.created_at,
)


def past(row: Any) -> PastExpense:
    """One row selected with PAST_COLUMNS."""
    return PastExpense(
        str(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7], Status(row[8]), row[9]
    )


def as_past(expense: Expense) -> PastExpense:
    return PastExpense(
        str(expense.id),
        expense.submitter_id,
        expense.amount,
        expense.currency,
        expense.merchant,
        expense.category,
        expense.incurred_on,
        expense.receipt_sha256,
        Status(expense.status),
        expense.created_at,
    )


def candidates(session: Session, expense: Expense, policy: Policy) -> Sequence[PastExpense]:
    """Earlier expenses that might matter; history_for decides which do.

    Narrowed in SQL to what could count, so a prolific submitter's history is not read whole on
    every evaluation: the same merchant and amount near the date, the same receipt, and this
    month's claims in the category only when it has a monthly cap.
    """
    window = timedelta(days=policy.clauses.duplicate_window_days)
    category = category_key(expense.category)
    capped = category in policy.clauses.monthly_caps
    first = expense.incurred_on.replace(day=1)
    params = {
        "id": expense.id,
        "created_at": expense.created_at,
        "submitter_id": expense.submitter_id,
        "merchant_key": expense.merchant_key,
        "amount": expense.amount,
        "currency": expense.currency,
        "window_start": expense.incurred_on - window,
        "window_end": expense.incurred_on + window,
        "receipt_sha256": expense.receipt_sha256,
        "category": category,
        "month_start": first,
        "month_end": next_month(first),
    }
    stmt = _candidates(with_receipt=bool(expense.receipt_sha256), capped=capped)
    return [past(row) for row in session.execute(stmt, params)]


@lru_cache(maxsize=4)
def _candidates(*, with_receipt: bool, capped: bool) -> Executable:
    """The query for one shape of expense, built once: each evaluation only binds values."""
    mine = Expense.submitter_id == bindparam("submitter_id")
    conditions: list[ColumnElement[bool]] = [
        mine
        & (Expense.merchant_key == bindparam("merchant_key"))
        & (Expense.amount == bindparam("amount"))
        & (Expense.currency == bindparam("currency"))
        & Expense.incurred_on.between(bindparam("window_start"), bindparam("window_end"))
        & Expense.status.not_in(sorted(NOT_PAYABLE))
    ]
    if with_receipt:
        conditions.append(
            (Expense.receipt_sha256 == bindparam("receipt_sha256"))
            & Expense.status.not_in(sorted(NOT_PAYABLE))
        )
    if capped:
        conditions.append(
            mine
            & (func.lower(func.trim(Expense.category)) == bindparam("category"))
            & (Expense.incurred_on >= bindparam("month_start"))
            & (Expense.incurred_on < bindparam("month_end"))
            & Expense.status.in_(sorted(COUNTS_TOWARDS_CAP))
        )
    return select(*PAST_COLUMNS).where(
        Expense.created_at < bindparam("created_at"),
        Expense.id != bindparam("id"),
        or_(*conditions),
    )


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def history_of(session: Session, expense: Expense, policy: Policy) -> History:
    return history_for(policy, as_past(expense), candidates(session, expense, policy))
