"""The scheduler's tick (remind, escalate, expire what is due at `now`) and its Slack follow-ups."""

import logging
import uuid
from collections import Counter
from datetime import UTC, datetime

from celery import Task
from sqlalchemy.exc import OperationalError

from app import job_names
from app.domain.workflow import Status, step_is_open
from app.policy_loader import load_policy
from app.services.routing import step_at
from app.services.timers import apply_due, due_steps
from models import Employee, Expense
from slack.blocks import reminder_text
from slack.card_data import load_card_view
from slack.delivery import Post, card_messages, deliver
from tasks.celery_app import celery_app
from tasks.notifications import SLACK_TASK, card_key, dm_channel, post_step_card
from tasks.retry import NotReadyYet, retry_or_raise
from tasks.runtime import runtime

log = logging.getLogger(__name__)


def parse_moment(text: str | None) -> datetime:
    """The tick's `now`: an ISO 8601 moment (UTC unless it says otherwise), or the real now."""
    if text is None:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@celery_app.task(  # type: ignore[untyped-decorator]
    name=job_names.TIMERS_TICK,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def tick(now: str | None = None) -> dict[str, int]:
    """Apply what is due at `now` (default: the real now), each step in its own transaction.

    Any number of ticks may run at once (two beats, a redelivery, an operator's tick): every
    action is a conditional update under a lock, so each happens once.
    """
    rt = runtime()
    moment = parse_moment(now)
    policy = load_policy(rt.settings.policy_file)
    done: Counter[str] = Counter()
    after: int | None = 0
    while after is not None:
        with rt.db.session() as session:
            due, after = due_steps(session, policy, moment, after_id=after)
        for item in due:
            with rt.db.session() as session:
                action = apply_due(session, item.step_id, policy, moment)
            if action is not None:
                done[action.value] += 1
    if done:
        log.info("timers at %s: %s", moment.isoformat(), dict(done))
    return dict(done)


@celery_app.task(name=job_names.SEND_REMINDER, **SLACK_TASK)  # type: ignore[untyped-decorator]
def send_reminder(self: Task, expense_id: str, step: int) -> str:
    """Remind whoever the step waits on: a direct message, or in the card's thread."""
    rt = runtime()
    eid = uuid.UUID(expense_id)
    try:
        with rt.db.session() as session:
            expense = session.get(Expense, eid)
            waiting = step_at(session, eid, step)
            if expense is None or waiting is None or waiting.opened_at is None:
                return "skipped"
            if not step_is_open(Status(expense.status), expense.current_step, step):
                return "decided meanwhile"
            text = reminder_text(load_card_view(session, eid, step), waiting.opened_at)
            assignee = session.get(Employee, waiting.assignee_id) if waiting.assignee_id else None
            slack_user = assignee.slack_user_id if assignee else None
        thread = None
        if slack_user:
            channel = dm_channel(slack_user)
        else:
            cards, _, _ = card_messages(rt.db, eid, step)
            if not cards or cards[0].channel is None:
                raise NotReadyYet(f"card {card_key(eid, step)} is not posted yet")
            channel, thread = cards[0].channel, cards[0].ts
        post = Post(f"remind:{eid}:{step}", eid, "reminder", channel, text, thread_ts=thread)
        return deliver(rt.db, rt.slack, post)
    except Exception as exc:
        retry_or_raise(self, exc)


@celery_app.task(name=job_names.POST_ESCALATED_CARD, **SLACK_TASK)  # type: ignore[untyped-decorator]
def post_escalated_card(self: Task, expense_id: str, step: int) -> str:
    """The card, again, for the person the step escalated to."""
    eid = uuid.UUID(expense_id)
    try:
        return post_step_card(eid, step, f"{card_key(eid, step)}:escalated")
    except Exception as exc:
        retry_or_raise(self, exc)
