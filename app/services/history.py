"""Reading an expense's history (earlier claims, this month's spend) for the pure history rules."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Executable, or_, select
from sqlalchemy.orm import Session

from app.domain.history import History, PastExpense, earliest_relevant, history_for
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
    """Earlier expenses that might matter; history_for decides which do."""
    same_submitter = (Expense.submitter_id == expense.submitter_id) & (
        Expense.incurred_on >= earliest_relevant(policy, expense.incurred_on)
    )
    conditions: list[ColumnElement[bool]] = [same_submitter]
    if expense.receipt_sha256:
        conditions.append(Expense.receipt_sha256 == expense.receipt_sha256)
    stmt = select(*PAST_COLUMNS).where(
        Expense.created_at < expense.created_at, Expense.id != expense.id, or_(*conditions)
    )
    return past_rows(stmt, session)


def history_of(session: Session, expense: Expense, policy: Policy) -> History:
    return history_for(policy, as_past(expense), candidates(session, expense, policy))
