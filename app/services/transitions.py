"""The one place that changes an expense's status: a conditional UPDATE via the transition table."""

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.domain.workflow import Action, Status, next_status
from models import Expense
from models.base import utcnow


def apply_transition(session: Session, expense: Expense, action: Action, **values: Any) -> bool:
    """Move `expense` by `action` if nobody moved it first; False means another writer won."""
    current = Status(expense.status)
    target = next_status(current, action)
    stmt = (
        update(Expense)
        .where(
            Expense.id == expense.id,
            Expense.status == current.value,
            Expense.current_step == expense.current_step,
        )
        .values(status=target.value, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    won = bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]
    session.expire(expense)
    return won
