"""The expenses the AI advised on and a human then decided, for the calibration report."""

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.domain.advice import LlmAdvice
from app.domain.calibration import Judged
from app.domain.policy import Policy
from app.domain.workflow import Status
from models import Decision, Expense


def judged(session: Session, policy: Policy, since: datetime | None = None) -> list[Judged]:
    """Finally approved or rejected by people (not by the gate), with the AI's advice."""
    stmt = select(Expense.llm_advice, Expense.status, Expense.amount, Expense.currency).where(
        Expense.status.in_((Status.APPROVED, Status.REJECTED)),
        exists().where(Decision.expense_id == Expense.id),
    )
    if since is not None:
        stmt = stmt.where(Expense.created_at >= since)
    out = []
    for advice, status, amount, currency in session.execute(stmt.execution_options(yield_per=1000)):
        if isinstance(advice, LlmAdvice):
            out.append(
                Judged(
                    advice.recommendation,
                    advice.confidence,
                    status == Status.APPROVED,
                    policy.to_policy_currency(amount, currency),
                )
            )
    return out
