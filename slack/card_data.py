"""Reads what an approval card or notice shows from the database into the builders' plain views."""

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import NotFound
from app.domain.money import in_minor_units
from app.domain.receipts import counts_as_receipt
from app.domain.workflow import Status
from app.receipt_links import ReceiptLinks
from app.services.routing import plan_of, steps_of
from models import Comment, Decision, Employee, Expense
from slack.blocks import CardView, DecisionView, NoteView


def decision_views(session: Session, expense_id: uuid.UUID) -> tuple[DecisionView, ...]:
    rows = session.scalars(
        select(Decision).where(Decision.expense_id == expense_id).order_by(Decision.step)
    ).all()
    return tuple(
        DecisionView(d.step, d.role, d.outcome, d.slack_user_id, d.reason, d.decided_at)
        for d in rows
    )


def conversation_views(session: Session, expense_id: uuid.UUID) -> tuple[NoteView, ...]:
    """The questions asked of the submitter and their answers, oldest first."""
    rows = session.execute(
        select(Comment, Employee.name)
        .outerjoin(Employee, Employee.id == Comment.author_id)
        .where(Comment.expense_id == expense_id, Comment.kind.in_(("question", "answer")))
        .order_by(Comment.id)
    ).all()
    return tuple(NoteView(c.kind, c.slack_user_id, name or "someone", c.text) for c, name in rows)


def _step_labels(session: Session, expense: Expense) -> tuple[str, ...]:
    labels = tuple(plan_of(step).label for step in steps_of(session, expense.id))
    return labels or tuple(expense.steps)


def load_card_view(
    session: Session,
    expense_id: uuid.UUID,
    step: int,
    receipt_hosts: Collection[str] = (),
    links: ReceiptLinks | None = None,
) -> CardView:
    """`links` signs the uploaded receipt's link; without it the card shows none."""
    expense = session.get(Expense, expense_id)
    if expense is None:
        raise NotFound(f"no expense {expense_id}")
    submitter = session.get(Employee, expense.submitter_id)
    assert submitter is not None  # foreign key
    uploaded = expense.receipt_sha256 if expense.receipt_content_type else None
    return CardView(
        expense_id=str(expense.id),
        step=step,
        steps=_step_labels(session, expense),
        status=Status(expense.status),
        current_step=expense.current_step,
        submitter_name=submitter.name,
        submitter_slack_id=submitter.slack_user_id,
        amount=in_minor_units(expense.amount, expense.currency),
        currency=expense.currency,
        category=expense.category,
        merchant=expense.merchant,
        incurred_on=expense.incurred_on.isoformat(),
        description=expense.description,
        receipt_url=expense.receipt_url,
        receipt_counted=counts_as_receipt(expense.receipt_url, receipt_hosts),
        route_reasons=tuple(expense.route_reasons),
        llm_advice=expense.llm_advice,
        policy_version=expense.policy_version,
        decisions=decision_views(session, expense.id),
        conversation=conversation_views(session, expense.id),
        receipt_file_url=links.url(uploaded) if links and uploaded else None,
        receipt_file_type=expense.receipt_content_type,
    )
