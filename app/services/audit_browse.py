"""The auditor page's table: the expenses the filtered events belong to, newest activity first,
each with its outcome, who decided it and on what advice."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from app.domain.advice import Advice, LlmUnavailable
from app.domain.audit_filter import AuditFilter
from app.domain.money import in_minor_units
from app.domain.workflow import Status
from app.services.audit_query import conditions
from models import AuditEvent, Decision, Employee, Expense

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class ExpenseRow:
    id: uuid.UUID
    submitted_at: datetime
    submitter_name: str
    submitter_email: str
    merchant: str
    category: str
    amount: str
    currency: str
    status: str
    decided_by: str
    advice: str
    policy_version: str | None


def advice_text(advice: Advice | None) -> str:
    """The AI's advice in a few words: "approve, 0.99 (gpt-4o-mini)", or why there was none."""
    if advice is None:
        return "none yet"
    if isinstance(advice, LlmUnavailable):
        return f"none: {advice.reason}"
    model = f" ({advice.model})" if advice.model else ""
    return f"{advice.recommendation.value}, {advice.confidence:.2f}{model}"


def _decided_by(expense: Expense, decisions: Sequence[tuple[str, str]]) -> str:
    if decisions:
        return "; ".join(f"{name} ({outcome})" for name, outcome in decisions)
    if expense.status == Status.APPROVED.value and not expense.steps:
        return "AI (auto-approved within policy)"
    return "not decided yet"


def expense_rows(
    session: Session,
    flt: AuditFilter,
    policy_currency: str,
    *,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[ExpenseRow], int | None]:
    """A page of rows, and the cursor for the next (older) page, if there is one."""
    last = func.max(AuditEvent.id).label("last")
    stmt = (
        select(AuditEvent.expense_id, last)
        .where(*conditions(flt, policy_currency), AuditEvent.expense_id.is_not(None))
        .group_by(AuditEvent.expense_id)
        .order_by(desc(last))
        .limit(limit + 1)
    )
    if before is not None:
        stmt = stmt.having(func.max(AuditEvent.id) < before)
    found = session.execute(stmt).all()
    page, more = found[:limit], len(found) > limit
    ids = [row.expense_id for row in page]
    if not ids:
        return [], None
    expenses = {
        expense.id: (expense, name, email)
        for expense, name, email in session.execute(
            select(Expense, Employee.name, Employee.email)
            .join(Employee, Employee.id == Expense.submitter_id)
            .where(Expense.id.in_(ids))
        )
    }
    decisions: dict[uuid.UUID, list[tuple[str, str]]] = {}
    for expense_id, name, outcome in session.execute(
        select(Decision.expense_id, Employee.name, Decision.outcome)
        .outerjoin(Employee, Employee.id == Decision.decided_by_id)
        .where(Decision.expense_id.in_(ids))
        .order_by(Decision.expense_id, Decision.step)
    ):
        decisions.setdefault(expense_id, []).append((name or "unknown", outcome))
    rows = []
    for expense_id in ids:
        expense, name, email = expenses[expense_id]
        rows.append(
            ExpenseRow(
                id=expense.id,
                submitted_at=expense.created_at,
                submitter_name=name,
                submitter_email=email,
                merchant=expense.merchant,
                category=expense.category,
                amount=in_minor_units(expense.amount, expense.currency),
                currency=expense.currency,
                status=expense.status,
                decided_by=_decided_by(expense, decisions.get(expense_id, [])),
                advice=advice_text(expense.llm_advice),
                policy_version=expense.policy_version,
            )
        )
    return rows, (page[-1].last if more else None)
