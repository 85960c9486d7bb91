"""Finds work whose job was lost, by the broker or with a dead worker, for the sweeper."""

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, String, and_, cast, delete, exists, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Exists

from app import job_names
from app.db import Job
from app.domain.workflow import FINAL_STATUSES, Status
from models import (
    ApprovalStep,
    Comment,
    Decision,
    Employee,
    Expense,
    SlackMessage,
    SlackRequestReceipt,
)

BATCH = 200
# Submitters are told about recent outcomes only; a week-old missed DM is better left unsent.
NOTICE_WINDOW = timedelta(days=1)


def _sent(kind: str) -> Exists:
    return exists().where(
        SlackMessage.expense_id == Expense.id,
        SlackMessage.kind == kind,
        SlackMessage.sent_at.is_not(None),
    )


def _failed(kind: str) -> Exists:
    """Slack refused it for good: re-queuing cannot help; operators see it instead."""
    return exists().where(
        SlackMessage.expense_id == Expense.id,
        SlackMessage.kind == kind,
        SlackMessage.failed_at.is_not(None),
    )


def _card_booked_since(when: datetime) -> Exists:
    """The current step's card holds a pacing slot no older than `when`: it is waiting its turn."""
    return exists().where(
        SlackMessage.expense_id == Expense.id,
        SlackMessage.kind == "card",
        SlackMessage.step == Expense.current_step,
        SlackMessage.slot_at >= when,
    )


def lost_jobs(session: Session, *, stuck_before: datetime) -> list[Job]:
    """Jobs for expenses untouched since `stuck_before` whose next step never happened.

    Every job is idempotent, so re-queuing one that is merely slow does no harm; a card waiting
    for its pacing slot is not even slow, so it is left alone until its slot is as old.
    """
    quiet = Expense.updated_at < stuck_before
    unevaluated = session.scalars(
        select(Expense.id).where(Expense.status == Status.SUBMITTED.value, quiet).limit(BATCH)
    ).all()
    cardless = session.execute(
        select(Expense.id, Expense.current_step)
        .where(
            Expense.status == Status.PENDING_APPROVAL.value,
            quiet,
            ~_sent("card").where(SlackMessage.step == Expense.current_step),
            # A card whose DM and fallback both failed: left to the operators.
            ~_failed("card").where(
                SlackMessage.step == Expense.current_step,
                SlackMessage.dedupe_key.like("%:fallback"),
            ),
            ~_card_booked_since(stuck_before),
        )
        .limit(BATCH)
    ).all()
    untold = session.scalars(
        select(Expense.id)
        .join(Employee, Employee.id == Expense.submitter_id)
        .where(
            Expense.status.in_([s.value for s in FINAL_STATUSES]),
            quiet,
            Expense.updated_at > stuck_before - NOTICE_WINDOW,
            Employee.slack_user_id.is_not(None),
            ~_sent("dm"),
            ~_failed("dm"),
        )
        .limit(BATCH)
    ).all()
    recent = stuck_before - NOTICE_WINDOW
    # A decided step whose card still shows its buttons: the card update was lost.
    stale_cards = session.execute(
        select(SlackMessage.expense_id, SlackMessage.step)
        .join(
            Decision,
            and_(
                Decision.expense_id == SlackMessage.expense_id, Decision.step == SlackMessage.step
            ),
        )
        .where(
            SlackMessage.kind == "card",
            SlackMessage.sent_at.is_not(None),
            Decision.decided_at < stuck_before,
            Decision.decided_at > recent,
            or_(
                SlackMessage.refreshed_at.is_(None), SlackMessage.refreshed_at < Decision.decided_at
            ),
        )
        .limit(BATCH)
    ).all()
    # Any other change (a question, an answer, a cancellation) after the card was last drawn.
    drawn = func.coalesce(SlackMessage.refreshed_at, SlackMessage.sent_at)
    changed_cards = session.execute(
        select(SlackMessage.expense_id, SlackMessage.step)
        .join(Expense, Expense.id == SlackMessage.expense_id)
        .where(
            SlackMessage.kind == "card",
            SlackMessage.sent_at.is_not(None),
            quiet,
            Expense.updated_at > recent,
            drawn < Expense.updated_at,
        )
        .limit(BATCH)
    ).all()
    unasked = session.scalars(
        select(Comment.id)
        .where(
            Comment.kind == "question",
            Comment.created_at < stuck_before,
            Comment.created_at > recent,
            ~exists().where(
                SlackMessage.dedupe_key == literal("question:") + cast(Comment.id, String),
                or_(SlackMessage.sent_at.is_not(None), SlackMessage.failed_at.is_not(None)),
            ),
        )
        .limit(BATCH)
    ).all()
    unthreaded = session.scalars(
        select(Comment.id)
        .where(
            Comment.created_at < stuck_before,
            Comment.created_at > recent,
            ~exists().where(
                SlackMessage.dedupe_key == literal("comment:") + cast(Comment.id, String),
                SlackMessage.sent_at.is_not(None),
            ),
        )
        .limit(BATCH)
    ).all()
    return [
        *(Job(job_names.EVALUATE_EXPENSE, (str(eid),)) for eid in unevaluated),
        *(Job(job_names.POST_APPROVAL_CARD, (str(eid), step)) for eid, step in cardless),
        *(Job(job_names.NOTIFY_SUBMITTER, (str(eid),)) for eid in untold),
        *(
            Job(job_names.UPDATE_APPROVAL_CARD, (str(eid), step))
            for eid, step in dict.fromkeys([*stale_cards, *changed_cards])
        ),
        *(Job(job_names.ASK_SUBMITTER, (comment_id,)) for comment_id in unasked),
        *(Job(job_names.POST_COMMENT, (comment_id,)) for comment_id in unthreaded),
    ]


def purge_replay_receipts(session: Session, *, before: datetime) -> None:
    """Slack refuses requests older than 5 minutes, so older receipts can go, unless they
    still hold a decision nobody has applied yet."""
    session.execute(
        delete(SlackRequestReceipt).where(
            SlackRequestReceipt.received_at < before,
            or_(
                SlackRequestReceipt.decision_request.is_(None),
                SlackRequestReceipt.processed_at.is_not(None),
            ),
        )
    )


def _unsent(prefix: str, suffix: str = "") -> ColumnElement[bool]:
    """No sent outbox message has the key `prefix<expense>:<step>suffix`."""
    key = literal(prefix) + cast(ApprovalStep.expense_id, String) + literal(":")
    key = key + cast(ApprovalStep.position, String) + literal(suffix)
    return ~exists().where(SlackMessage.dedupe_key == key, SlackMessage.sent_at.is_not(None))


def lost_timer_jobs(session: Session, *, stuck_before: datetime, since: datetime) -> list[Job]:
    """The scheduler's direct messages lost between its commit and the broker: a reminder or an
    escalated card never posted. (Its card redraws are `lost_jobs`'s changed cards.)"""
    unreminded = session.execute(
        select(ApprovalStep.expense_id, ApprovalStep.position).where(
            ApprovalStep.reminded_at < stuck_before,
            ApprovalStep.reminded_at > since,
            _unsent("remind:"),
        )
    ).all()
    unescalated = session.execute(
        select(ApprovalStep.expense_id, ApprovalStep.position).where(
            ApprovalStep.escalated_at < stuck_before,
            ApprovalStep.escalated_at > since,
            _unsent("card:", ":escalated"),
        )
    ).all()
    return [
        *(Job(job_names.SEND_REMINDER, (str(e), p)) for e, p in unreminded),
        *(Job(job_names.POST_ESCALATED_CARD, (str(e), p)) for e, p in unescalated),
    ]
