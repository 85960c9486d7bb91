"""What one person's Home tab lists: the steps they may decide now, and their own expenses."""

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.domain.errors import DecisionRefused
from app.domain.routing import check_may_decide
from app.domain.workflow import Status
from app.services.decisions import approvers_so_far
from app.services.routing import person, plan_of
from models import ApprovalStep, Employee, Expense

LIMIT = 20


def pending_steps(session: Session, viewer: Employee) -> list[tuple[Expense, ApprovalStep]]:
    """Open steps `viewer` may decide, oldest first; the same rule as a click decides it."""
    if not viewer.active:
        return []
    rows = session.execute(
        select(Expense, ApprovalStep)
        .join(
            ApprovalStep,
            (ApprovalStep.expense_id == Expense.id)
            & (ApprovalStep.position == Expense.current_step),
        )
        .where(
            Expense.status == Status.PENDING_APPROVAL.value,
            Expense.submitter_id != viewer.id,
            or_(
                ApprovalStep.assignee_id == viewer.id,
                ApprovalStep.assignee_id.is_(None) & ApprovalStep.role.in_(viewer.roles),
            ),
        )
        .order_by(Expense.updated_at)
        .limit(LIMIT * 2)
    ).all()
    decider = person(viewer)
    mine: list[tuple[Expense, ApprovalStep]] = []
    for expense, step in rows:
        try:
            check_may_decide(
                decider=decider,
                submitter_id=expense.submitter_id,
                step=plan_of(step),
                assignee_id=step.assignee_id,
                acting_for_id=None,
                approved_earlier_steps=approvers_so_far(session, expense.id, step.position),
            )
        except DecisionRefused:
            continue
        mine.append((expense, step))
    return mine[:LIMIT]


def recent_expenses(session: Session, viewer: Employee, limit: int = 10) -> Sequence[Expense]:
    return session.scalars(
        select(Expense)
        .where(Expense.submitter_id == viewer.id)
        .order_by(Expense.created_at.desc())
        .limit(limit)
    ).all()
