"""Reads what an approval card or notice shows from the database into the builders' plain views."""

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.domain.errors import NotFound
from app.domain.money import in_minor_units
from app.domain.receipts import counts_as_receipt
from app.domain.workflow import Status
from app.receipt_links import ReceiptLinks
from app.services.routing import plan_of, step_at, steps_of
from models import Comment, Decision, Employee, Expense
from slack.blocks import CardView, DecisionView, EscalationView, NoteView


def decision_views(session: Session, expense_id: uuid.UUID) -> tuple[DecisionView, ...]:
    principal = aliased(Employee)
    rows = session.execute(
        select(Decision, principal.name)
        .outerjoin(principal, principal.id == Decision.acting_for_id)
        .where(Decision.expense_id == expense_id)
        .order_by(Decision.step)
    ).all()
    return tuple(
        DecisionView(d.step, d.role, d.outcome, d.slack_user_id, d.reason, d.decided_at, name)
        for d, name in rows
    )


def escalation_view(session: Session, expense_id: uuid.UUID, step: int) -> EscalationView | None:
    """Who the step passed to, and from whom, if the scheduler escalated it."""
    row = step_at(session, expense_id, step)
    if row is None or row.escalated_at is None or row.assignee_id is None:
        return None
    to = session.get(Employee, row.assignee_id)
    was = session.get(Employee, row.approver_id) if row.approver_id is not None else None
    assert to is not None  # foreign key
    return EscalationView(
        at=row.escalated_at,
        to_name=to.name,
        to_slack_id=to.slack_user_id,
        from_name=was.name if was else None,
        from_slack_id=was.slack_user_id if was else None,
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
        escalation=escalation_view(session, expense.id, step),
        receipt_file_url=links.url(uploaded) if links and uploaded else None,
        receipt_file_type=expense.receipt_content_type,
    )
