"""Reading an expense's history (earlier claims, this month's spend) for the pure history rules."""

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Executable, func, or_, select
from sqlalchemy.orm import Session

from app.domain.history import (
    COUNTS_TOWARDS_CAP,
    NOT_PAYABLE,
    History,
    PastExpense,
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


def past_rows(stmt: Executable, session: Session) -> list[PastExpense]:
    """Rows selected with PAST_COLUMNS, as the domain's PastExpense."""
    return [past(row) for row in session.execute(stmt)]


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
    mine = Expense.submitter_id == expense.submitter_id
    conditions: list[ColumnElement[bool]] = [
        mine
        & (Expense.merchant_key == expense.merchant_key)
        & (Expense.amount == expense.amount)
        & (Expense.currency == expense.currency)
        & Expense.incurred_on.between(expense.incurred_on - window, expense.incurred_on + window)
        & Expense.status.not_in(sorted(NOT_PAYABLE))
    ]
    if expense.receipt_sha256:
        conditions.append(
            (Expense.receipt_sha256 == expense.receipt_sha256)
            & Expense.status.not_in(sorted(NOT_PAYABLE))
        )
    category = expense.category.strip().lower()
    if category in policy.clauses.monthly_caps:
        first = expense.incurred_on.replace(day=1)
        conditions.append(
            mine
            & (func.lower(func.trim(Expense.category)) == category)
            & (Expense.incurred_on >= first)
            & (Expense.incurred_on < next_month(first))
            & Expense.status.in_(sorted(COUNTS_TOWARDS_CAP))
        )
    stmt = select(*PAST_COLUMNS).where(
        Expense.created_at < expense.created_at, Expense.id != expense.id, or_(*conditions)
    )
    return past_rows(stmt, session)


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def history_of(session: Session, expense: Expense, policy: Policy) -> History:
    return history_for(policy, as_past(expense), candidates(session, expense, policy))
