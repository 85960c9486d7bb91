"""Shared test data for service-level tests: people, expenses, clicks, claims under a policy, and
expenses and Slack messages made to look old or sent."""

import dataclasses
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.db import Database
from app.domain.advice import Advice, ConfidenceMethod, LlmAdvice, LlmUnavailable, Recommendation
from app.domain.gate import route_expense
from app.domain.policy import Policy
from app.domain.rules import ExpenseFacts
from app.policy_loader import load_policy
from app.services import decisions, evaluation, expenses
from app.services.employees import add_employee
from app.services.history import history_of
from app.settings import DEFAULT_POLICY_FILE
from models import Employee, Expense, SlackMessage
from models.base import utcnow

POLICY = load_policy(DEFAULT_POLICY_FILE)


def person(db: Database, *roles: str, manager: Employee | None = None) -> Employee:
    tag = uuid.uuid4().hex[:10]
    with db.session() as session:
        return add_employee(
            session,
            email=f"{tag}@t.example",
            name=tag,
            slack_user_id=f"U{tag.upper()}",
            roles=roles,
            manager_email=manager.email if manager else None,
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
    step: int = 0,
) -> decisions.DecisionOutcome:
    """What a button click on `step` does, in its own transaction."""
    with db.session() as session:
        return decide_in(session, expense_id, who, verdict=verdict, reason=reason, step=step)


def decide_in(
    session: Session, expense_id: uuid.UUID, who: Employee, **choice: Any
) -> decisions.DecisionOutcome:
    """A click inside a transaction the test holds (to interleave something with it); approves
    step 0 unless `choice` says otherwise (`verdict`, `reason`, `step`)."""
    assert who.slack_user_id
    return decisions.decide_step(
        session,
        expense_id=expense_id,
        slack_user_id=who.slack_user_id,
        **{"step": 0, "verdict": decisions.Verdict.APPROVE, **choice},
    )


def age(db: Database, expense_id: uuid.UUID, minutes: int = 10) -> None:
    with db.session() as session:
        session.execute(
            update(Expense)
            .where(Expense.id == expense_id)
            .values(updated_at=utcnow() - timedelta(minutes=minutes))
        )


def sent(db: Database, expense_id: uuid.UUID, kind: str, step: int | None = None) -> None:
    with db.session() as session:
        session.add(
            SlackMessage(
                dedupe_key=f"{kind}:{expense_id}:{step}:{uuid.uuid4().hex}",
                expense_id=expense_id,
                kind=kind,
                step=step,
                channel="C1",
                ts="1.1",
                sent_at=utcnow(),
            )
        )


# --- claims evaluated under a policy, as the worker would (minus the LLM call) ----------------

RECEIPT_HOSTS = 'receipt_hosts = ["r.example"]'
APPROVE = LlmAdvice(Recommendation.APPROVE, 0.99, ("fine",), "m")


def policy_file(tmp_path: Path, name: str = "policy.toml", **replacements: str) -> Path:
    """The shipped policy, with receipts counted on r.example, and any text replaced."""
    text = DEFAULT_POLICY_FILE.read_text().replace("receipt_hosts = []", RECEIPT_HOSTS)
    for old, new in replacements.items():
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def claim(db: Database, who: Employee, **changes: object) -> uuid.UUID:
    """A claim of its own: a merchant and a receipt no other claim has, unless given."""
    tag = uuid.uuid4().hex
    fresh = {"merchant": f"Rail {tag}", "receipt_url": f"https://r.example/{tag}"}
    data = dataclasses.replace(new_expense("120.00"), **{**fresh, **changes})  # type: ignore[arg-type]
    with db.session() as session:
        expense, _ = expenses.submit(session, who, data, None)
        return expense.id


def evaluate(
    db: Database, expense_id: uuid.UUID, policy: Policy, advice: Advice = APPROVE
) -> Expense:
    """What the evaluation task does, minus the LLM call."""
    with db.session() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        facts = evaluation.facts_of(expense, policy, history_of(session, expense, policy))
    decision = route_expense(policy, facts, advice)
    with db.session() as session:
        assert evaluation.record_gate_decision(session, expense_id, decision, advice, policy)
    with db.session() as session:
        stored = session.get(Expense, expense_id)
        assert stored is not None
        session.expunge(stored)
        return stored


# Advice whose confidence was measured from token probabilities, below what the model wrote.
MEASURED = LlmAdvice(
    Recommendation.APPROVE,
    0.5,
    ("[limits] pricey", "but fine"),
    "m-7",
    ConfidenceMethod.LOGPROBS,
    stated_confidence=0.9,
    prompt_version="0123456789ab",
    prompt_tokens=321,
    completion_tokens=45,
    latency_ms=987,
)
