"""Builds expense stories the way the bot records them, for the auditor-facing tests.

Each call goes through the real services (submit, the gate, a click) in its own transaction, so
the audit log holds exactly what production would write.
"""

import uuid
from datetime import date
from decimal import Decimal

from app.db import Database
from app.domain.advice import Advice, LlmAdvice, LlmUnavailable, Recommendation
from app.domain.gate import route_expense
from app.domain.policy import Policy
from app.policy_loader import load_policy
from app.services import decisions, evaluation, expenses
from app.services.employees import add_employee, create_token
from app.settings import DEFAULT_POLICY_FILE
from models import Employee, Expense
from tests.api.helpers import Person

POLICY = load_policy(DEFAULT_POLICY_FILE)
CONFIDENT_APPROVE = LlmAdvice(Recommendation.APPROVE, 0.99, ("Matches the trip",), "test-model")


def staff(db: Database, *roles: str, name: str | None = None) -> Person:
    """A new employee with a token and a Slack id; unique every call."""
    tag = uuid.uuid4().hex[:10]
    with db.session() as session:
        employee = add_employee(
            session,
            email=f"{tag}@corp.example",
            name=name or f"Person {tag}",
            slack_user_id=f"U{tag.upper()}",
            roles=roles,
        )
        token = create_token(session, employee)
        return Person(employee.id, employee.email, employee.name, f"U{tag.upper()}", token)


def submit(
    db: Database,
    submitter: Person,
    *,
    amount: str = "1500.00",
    currency: str = "USD",
    category: str = "travel",
    merchant: str = "Rail Co",
) -> uuid.UUID:
    data = expenses.NewExpense(
        amount=Decimal(amount),
        currency=currency,
        category=category,
        merchant=merchant,
        description="Trip to the client",
        incurred_on=date.today(),
    )
    with db.session() as session:
        employee = session.get(Employee, submitter.id)
        assert employee is not None
        expense, _ = expenses.submit(session, employee, data, None)
        return expense.id


def evaluate(
    db: Database, expense_id: uuid.UUID, advice: Advice | None = None, policy: Policy = POLICY
) -> None:
    """What the worker does: the rules, the advice, the gate's route, in one transaction."""
    advice = advice or LlmUnavailable("not configured")
    with db.session() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        decision = route_expense(policy, evaluation.facts_of(expense, policy), advice)
        assert evaluation.record_gate_decision(session, expense_id, decision, advice, policy)


def expense(
    db: Database,
    submitter: Person,
    *,
    advice: Advice | None = None,
    policy: Policy = POLICY,
    **fields: str,
) -> uuid.UUID:
    """Submitted and evaluated: auto-approved or waiting for a human, as the gate says."""
    expense_id = submit(db, submitter, **fields)
    evaluate(db, expense_id, advice, policy)
    return expense_id


def click(
    db: Database,
    expense_id: uuid.UUID,
    who: Person,
    verdict: decisions.Verdict = decisions.Verdict.APPROVE,
    *,
    step: int = 0,
    reason: str | None = None,
) -> decisions.Result:
    with db.session() as session:
        outcome = decisions.decide_step(
            session,
            expense_id=expense_id,
            step=step,
            slack_user_id=who.slack_id,
            verdict=verdict,
            reason=reason,
        )
        return outcome.result
