"""Publishes one person's Home tab from the database: run after it opens and after changes."""

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from app.db import Database
from app.domain.money import in_minor_units
from app.services.employees import find_by_slack_id
from app.services.inbox import pending_steps, recent_expenses
from app.services.routing import plan_of
from models import Employee
from slack.home_view import OwnItem, PendingItem, home_view, unlinked_home

log = logging.getLogger(__name__)


def load_home(db: Database, slack_user_id: str) -> dict[str, object]:
    with db.session() as session:
        viewer = find_by_slack_id(session, slack_user_id)
        if viewer is None:
            return unlinked_home()
        pending = []
        for expense, step in pending_steps(session, viewer):
            submitter = session.get(Employee, expense.submitter_id)
            pending.append(
                PendingItem(
                    expense_id=str(expense.id),
                    step=step.position,
                    step_label=plan_of(step).label,
                    submitter_name=submitter.name if submitter else "someone",
                    amount=in_minor_units(expense.amount, expense.currency),
                    currency=expense.currency,
                    merchant=expense.merchant,
                    category=expense.category,
                )
            )
        own = [
            OwnItem(
                amount=in_minor_units(e.amount, e.currency),
                currency=e.currency,
                merchant=e.merchant,
                status=e.status,
                submitted_on=e.created_at.date().isoformat(),
            )
            for e in recent_expenses(session, viewer)
        ]
        return home_view(pending, own)


def publish_home(db: Database, client: WebClient, slack_user_id: str) -> None:
    """Render and publish now; each publish shows the current state, so a repeat is harmless."""
    try:
        client.views_publish(user_id=slack_user_id, view=load_home(db, slack_user_id))
    except SlackApiError as exc:
        log.warning(
            "could not publish the Home tab of %s: %s", slack_user_id, exc.response.get("error")
        )
        raise
