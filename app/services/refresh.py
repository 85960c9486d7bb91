"""Follow-up jobs that keep every Slack surface true: cards and Home tabs, after any change."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import job_names
from app.db import enqueue_after_commit
from models import Employee, Expense, SlackMessage


def refresh_cards(session: Session, expense: Expense) -> None:
    """Redraw every step's card from the state this transaction commits; missing ones skip."""
    for step in range(expense.current_step + 1):
        enqueue_after_commit(session, job_names.UPDATE_APPROVAL_CARD, str(expense.id), step)


def refresh_if_stale(session: Session, expense: Expense, step: int) -> None:
    """Someone clicked a card: redraw it if the expense changed after it was last drawn."""
    drawn = func.coalesce(SlackMessage.refreshed_at, SlackMessage.sent_at)
    stale = session.scalar(
        select(SlackMessage.id)
        .where(
            SlackMessage.expense_id == expense.id,
            SlackMessage.kind == "card",
            SlackMessage.step == step,
            SlackMessage.sent_at.is_not(None),
            drawn < expense.updated_at,
        )
        .limit(1)
    )
    if stale is not None:
        enqueue_after_commit(session, job_names.UPDATE_APPROVAL_CARD, str(expense.id), step)


def refresh_homes(session: Session, expense: Expense, *slack_user_ids: str | None) -> None:
    """Republish the Home tab of the submitter and of whoever else acted."""
    submitter = session.scalar(
        select(Employee.slack_user_id).where(Employee.id == expense.submitter_id)
    )
    for user in sorted({u for u in (submitter, *slack_user_ids) if u}):
        enqueue_after_commit(session, job_names.PUBLISH_HOME, user)
