"""Slack side effects: post and update approval cards, thread comments, tell the submitter."""

import uuid
from dataclasses import replace
from datetime import datetime

from celery import Task
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import job_names
from app.db import enqueue_after_commit
from app.domain.money import in_minor_units
from app.domain.routing import StepKind
from app.domain.workflow import FINAL_STATUSES, Status
from app.policy_loader import load_policy
from app.services.delegations import delegate_of
from app.services.routing import plan_of, step_at
from models import Comment, Employee, Expense, SlackMessage
from models.base import utcnow
from slack.blocks import (
    approval_card,
    card_text,
    comment_text,
    outcome_notice,
    step_notice,
    undeliverable_notice,
)
from slack.card_data import decision_views, load_card_view
from slack.delivery import (
    PermanentFailure,
    Post,
    card_messages,
    deliver,
    mark_refreshed,
    permanent_error,
    record_failure,
)
from tasks.celery_app import celery_app
from tasks.retry import NotReadyYet, retry_or_raise
from tasks.runtime import runtime

SLACK_TASK = {"bind": True, "max_retries": 12, "acks_late": True}


def _receipt_hosts() -> frozenset[str]:
    return load_policy(runtime().settings.policy_file).receipt_hosts


def card_key(expense_id: uuid.UUID, step: int) -> str:
    return f"card:{expense_id}:{step}"


def dm_channel(slack_user_id: str) -> str:
    opened = runtime().slack.conversations_open(users=slack_user_id)
    return str(opened["channel"]["id"])


def card_recipient(session: Session, expense_id: uuid.UUID, step: int) -> tuple[str, str]:
    """("user", Slack id) when a named approver gets the card by DM, else ("channel", id)."""
    settings = runtime().settings
    waiting = step_at(session, expense_id, step)
    if waiting is not None and waiting.assignee_id is not None:
        assignee = session.get(Employee, waiting.assignee_id)
        if assignee is not None and assignee.slack_user_id:
            return "user", assignee.slack_user_id
    if waiting is not None and waiting.kind == StepKind.FINANCE.value:
        return "channel", settings.slack_finance_channel or settings.slack_approvals_channel
    return "channel", settings.slack_approvals_channel


def _post_card(card: Post, recipient: tuple[str, str]) -> str:
    """Post to the recipient; opening a DM with someone Slack refuses for good is recorded."""
    rt = runtime()
    kind, target = recipient
    if kind == "user":
        try:
            card = replace(card, channel=dm_channel(target))
        except SlackApiError as exc:
            error = permanent_error(exc)
            if error is None:
                raise
            raise record_failure(rt.db, replace(card, channel=target), error) from exc
    return deliver(rt.db, rt.slack, card)


def post_step_card(eid: uuid.UUID, step: int, dedupe_key: str) -> str:
    """Post the step's card to whoever it waits on now (or its channel), once per key; a copy
    goes to the person holding their delegation, if any."""
    rt = runtime()
    approvals = rt.settings.slack_approvals_channel
    rendered_at = utcnow()
    with rt.db.session() as session:
        view = load_card_view(session, eid, step, _receipt_hosts(), rt.links)
        recipient = card_recipient(session, eid, step)
        deputy = _deputy(session, eid, step)
    card = Post(
        dedupe_key=dedupe_key,
        expense_id=eid,
        kind="card",
        step=step,
        channel=recipient[1],
        text=card_text(view),
        blocks=approval_card(view),
    )
    try:
        ts = _post_card(card, recipient)
    except PermanentFailure as failure:
        if recipient == ("channel", approvals):
            raise
        # Slack will never take it there; the approvals channel sees it instead.
        fallback = replace(
            card,
            dedupe_key=f"{card.dedupe_key}:fallback",
            channel=approvals,
            blocks=approval_card(view, notice=undeliverable_notice(failure.error)),
        )
        ts = deliver(rt.db, rt.slack, fallback)
    if deputy is not None:
        copy = replace(card, dedupe_key=f"{dedupe_key}:delegate:{deputy}")
        try:
            _post_card(copy, ("user", deputy))
        except PermanentFailure:  # recorded for operators; the card itself is posted
            pass
    _redraw_if_changed(eid, step, rendered_at)
    return ts


def _deputy(session: Session, eid: uuid.UUID, step: int) -> str | None:
    """The Slack id of whoever holds the delegation of the step's named approver now."""
    waiting = step_at(session, eid, step)
    if waiting is None or waiting.assignee_id is None:
        return None
    holder = delegate_of(session, waiting.assignee_id, utcnow())
    return holder.slack_user_id if holder is not None else None


@celery_app.task(name=job_names.POST_APPROVAL_CARD, **SLACK_TASK)  # type: ignore[untyped-decorator]
def post_approval_card(self: Task, expense_id: str, step: int) -> str:
    eid = uuid.UUID(expense_id)
    try:
        return post_step_card(eid, step, card_key(eid, step))
    except Exception as exc:
        retry_or_raise(self, exc)


def _redraw_if_changed(expense_id: uuid.UUID, step: int, rendered_at: datetime) -> None:
    """The expense changed while its card was on the way: draw the card again, as it is now."""
    with runtime().db.session() as session:
        expense = session.get(Expense, expense_id)
        if expense is not None and expense.updated_at > rendered_at:
            enqueue_after_commit(session, job_names.UPDATE_APPROVAL_CARD, str(expense_id), step)


@celery_app.task(name=job_names.UPDATE_APPROVAL_CARD, **SLACK_TASK)  # type: ignore[untyped-decorator]
def update_approval_card(self: Task, expense_id: str, step: int) -> str:
    rt = runtime()
    eid = uuid.UUID(expense_id)
    try:
        cards, undeliverable, posting = card_messages(rt.db, eid, step)
        if not cards:
            if undeliverable:
                return "undeliverable"
            if not posting:  # never posted (cancelled first, say); a later post draws it as it is
                return "no card"
            raise NotReadyYet(f"card {card_key(eid, step)} is not posted yet")
        with rt.db.session() as session:
            view = load_card_view(session, eid, step, _receipt_hosts(), rt.links)
        # Rendering from current state makes this idempotent: a repeat shows the same card.
        for message in cards:
            rt.slack.chat_update(
                channel=str(message.channel),
                ts=str(message.ts),
                text=card_text(view),
                blocks=approval_card(view),
            )
            mark_refreshed(rt.db, message.dedupe_key)
        return cards[0].ts or ""
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
        post = Post(
            dedupe_key=f"dm:{eid}:{status}",
            expense_id=eid,
            kind="dm",
            channel=dm_channel(slack_user),
            text=text,
        )
        return deliver(rt.db, rt.slack, post)
    except Exception as exc:
        retry_or_raise(self, exc)


@celery_app.task(name=job_names.NOTIFY_STEP, **SLACK_TASK)  # type: ignore[untyped-decorator]
def notify_step(self: Task, expense_id: str, step: int) -> str:
    """Tell the submitter that `step` was approved and who the expense waits on now."""
    rt = runtime()
    eid = uuid.UUID(expense_id)
    try:
        with rt.db.session() as session:
            expense = session.get(Expense, eid)
            submitter = session.get(Employee, expense.submitter_id) if expense else None
            decided = next((d for d in decision_views(session, eid) if d.step == step), None)
            if expense is None or decided is None:
                return "skipped"
            if submitter is None or not submitter.slack_user_id:
                return "no slack id"
            following = step_at(session, eid, step + 1)
            text = step_notice(
                amount=in_minor_units(expense.amount, expense.currency),
                currency=expense.currency,
                merchant=expense.merchant,
                decided=decided,
                next_step=plan_of(following).label if following else None,
            )
            slack_user = submitter.slack_user_id
        post = Post(
            dedupe_key=f"step:{eid}:{step}",
            expense_id=eid,
            kind="step_notice",
            channel=dm_channel(slack_user),
            text=text,
        )
        return deliver(rt.db, rt.slack, post)
    except Exception as exc:
        retry_or_raise(self, exc)
