"""Slack side effects: post and update approval cards, thread comments, tell the submitter."""

import uuid

from celery import Task
from sqlalchemy import select

from app import job_names
from app.domain.money import in_minor_units
from app.domain.workflow import FINAL_STATUSES, Status
from app.policy_loader import load_policy
from models import Comment, Employee, Expense, SlackMessage
from slack.blocks import approval_card, card_text, comment_text, outcome_notice
from slack.card_data import decision_views, load_card_view
from slack.delivery import Post, deliver, mark_refreshed, sent_message
from tasks.celery_app import celery_app
from tasks.retry import NotReadyYet, retry_or_raise
from tasks.runtime import runtime

SLACK_TASK = {"bind": True, "max_retries": 12, "acks_late": True}


def _receipt_hosts() -> frozenset[str]:
    return load_policy(runtime().settings.policy_file).receipt_hosts


def card_key(expense_id: uuid.UUID, step: int) -> str:
    return f"card:{expense_id}:{step}"


@celery_app.task(name=job_names.POST_APPROVAL_CARD, **SLACK_TASK)  # type: ignore[untyped-decorator]
def post_approval_card(self: Task, expense_id: str, step: int) -> str:
    rt = runtime()
    eid = uuid.UUID(expense_id)
    try:
        with rt.db.session() as session:
            view = load_card_view(session, eid, step, _receipt_hosts())
        post = Post(
            dedupe_key=card_key(eid, step),
            expense_id=eid,
            kind="card",
            step=step,
            channel=rt.settings.slack_approvals_channel,
            text=card_text(view),
            blocks=approval_card(view),
        )
        return deliver(rt.db, rt.slack, post)
    except Exception as exc:
        retry_or_raise(self, exc)


@celery_app.task(name=job_names.UPDATE_APPROVAL_CARD, **SLACK_TASK)  # type: ignore[untyped-decorator]
def update_approval_card(self: Task, expense_id: str, step: int) -> str:
    rt = runtime()
    eid = uuid.UUID(expense_id)
    try:
        message = sent_message(rt.db, card_key(eid, step))
        if message is None or message.channel is None or message.ts is None:
            raise NotReadyYet(f"card {card_key(eid, step)} is not posted yet")
        with rt.db.session() as session:
            view = load_card_view(session, eid, step, _receipt_hosts())
        # Rendering from current state makes this idempotent: a repeat shows the same card.
        rt.slack.chat_update(
            channel=message.channel, ts=message.ts, text=card_text(view), blocks=approval_card(view)
        )
        mark_refreshed(rt.db, card_key(eid, step))
        return message.ts
    except Exception as exc:
        retry_or_raise(self, exc)


@celery_app.task(name=job_names.POST_COMMENT, **SLACK_TASK)  # type: ignore[untyped-decorator]
def post_comment(self: Task, comment_id: int) -> str:
    rt = runtime()
    try:
        with rt.db.session() as session:
            note = session.get(Comment, comment_id)
            if note is None:
                return "skipped"
            card = session.scalar(
                select(SlackMessage)
                .where(
                    SlackMessage.expense_id == note.expense_id,
                    SlackMessage.kind == "card",
                    SlackMessage.sent_at.is_not(None),
                )
                .order_by(SlackMessage.id.desc())
                .limit(1)
            )
            if card is None or card.channel is None:
                raise NotReadyYet(f"no card posted for expense {note.expense_id}")
            post = Post(
                dedupe_key=f"comment:{note.id}",
                expense_id=note.expense_id,
                kind="comment",
                channel=card.channel,
                thread_ts=card.ts,
                text=comment_text(note.slack_user_id or "unknown", note.text),
            )
        return deliver(rt.db, rt.slack, post)
    except Exception as exc:
        retry_or_raise(self, exc)


@celery_app.task(name=job_names.NOTIFY_SUBMITTER, **SLACK_TASK)  # type: ignore[untyped-decorator]
def notify_submitter(self: Task, expense_id: str) -> str:
    rt = runtime()
    eid = uuid.UUID(expense_id)
    try:
        with rt.db.session() as session:
            expense = session.get(Expense, eid)
            if expense is None or Status(expense.status) not in FINAL_STATUSES:
                return "skipped"
            submitter = session.get(Employee, expense.submitter_id)
            if submitter is None or not submitter.slack_user_id:
                return "no slack id"
            text = outcome_notice(
                status=expense.status,
                amount=in_minor_units(expense.amount, expense.currency),
                currency=expense.currency,
                merchant=expense.merchant,
                decisions=decision_views(session, eid),
            )
            slack_user = submitter.slack_user_id
            status = expense.status
        opened = rt.slack.conversations_open(users=slack_user)
        channel = str(opened["channel"]["id"])
        post = Post(
            dedupe_key=f"dm:{eid}:{status}", expense_id=eid, kind="dm", channel=channel, text=text
        )
        return deliver(rt.db, rt.slack, post)
    except Exception as exc:
        retry_or_raise(self, exc)
