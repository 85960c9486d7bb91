"""Shared test data for service-level tests: people, expenses waiting on a step, and clicks."""

import uuid
from datetime import date
from decimal import Decimal

from app.db import Database
from app.domain.advice import LlmUnavailable
from app.domain.gate import route_expense
from app.domain.rules import ExpenseFacts
from app.policy_loader import load_policy
from app.services import decisions, evaluation, expenses
from app.services.employees import add_employee
from app.settings import DEFAULT_POLICY_FILE
from models import Employee

POLICY = load_policy(DEFAULT_POLICY_FILE)


def person(db: Database, *roles: str) -> Employee:
    tag = uuid.uuid4().hex[:10]
    with db.session() as session:
        return add_employee(
            session,
            email=f"{tag}@t.example",
            name=tag,
            slack_user_id=f"U{tag.upper()}",
            roles=roles,
        )


def new_expense(amount: str = "1500.00") -> expenses.NewExpense:
    return expenses.NewExpense(
        amount=Decimal(amount),
        currency="USD",
        category="travel",
        merchant="Rail",
        description="trip",
        incurred_on=date(2026, 11, 1),
        receipt_url="https://r.example/1",
    )


def pending_expense(db: Database, submitter: Employee, amount: str = "1500.00") -> uuid.UUID:
    with db.session() as session:
        expense, _ = expenses.submit(session, submitter, new_expense(amount), None)
        expense_id = expense.id
    facts = ExpenseFacts(Decimal(amount), "USD", "travel", True)
    advice = LlmUnavailable("test")
    with db.session() as session:
        assert evaluation.record_gate_decision(
            session, expense_id, route_expense(POLICY, facts, advice), advice, POLICY
        )
    return expense_id


def click(
    db: Database,
    expense_id: uuid.UUID,
    who: Employee,
    verdict: decisions.Verdict = decisions.Verdict.APPROVE,
    reason: str | None = None,
) -> decisions.DecisionOutcome:
    """What a button click on step 0 does, in its own transaction."""
    assert who.slack_user_id
    with db.session() as session:
        return decisions.decide_step(
            session,
            expense_id=expense_id,
            step=0,
            slack_user_id=who.slack_user_id,
            verdict=verdict,
            reason=reason,
        )
