"""Applying decisions recorded on Slack's ack path, exactly once, whoever gets there first."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import NotFound
from app.domain.requests import DecisionRequest, RequestKind
from app.services import conversation, decisions
from app.services.employees import find_by_slack_id
from models import SlackRequestReceipt
from models.base import utcnow


@dataclass(frozen=True, slots=True)
class Applied:
    request: DecisionRequest
    # None when the expense no longer exists.
    outcome: decisions.DecisionOutcome | None


def apply_request(session: Session, signature: str) -> Applied | None:
    """Apply the request stored with this receipt, unless someone already did; None if so.

    The receipt row is locked and marked in the same transaction as the decision, so an
    after-ack thread and the sweeper racing for it apply it once between them.
    """
    receipt = session.scalar(
        select(SlackRequestReceipt)
        .where(SlackRequestReceipt.signature == signature)
        .with_for_update()
    )
    if receipt is None or receipt.processed_at is not None or receipt.decision_request is None:
        return None
    request = DecisionRequest.from_json(receipt.decision_request)
    receipt.processed_at = utcnow()
    try:
        return Applied(request, _apply(session, request))
    except NotFound:
        return Applied(request, None)


def _apply(session: Session, request: DecisionRequest) -> decisions.DecisionOutcome:
    if request.kind is RequestKind.ASK:
        return conversation.ask(
            session,
            expense_id=request.expense_id,
            step=request.step,
            slack_user_id=request.slack_user_id,
            question=request.reason or "",
        )
    if request.kind is RequestKind.ANSWER:
        speaker = conversation.Speaker.slack(
            request.slack_user_id, find_by_slack_id(session, request.slack_user_id)
        )
        return conversation.answer(
            session, expense_id=request.expense_id, speaker=speaker, text=request.reason or ""
        )
    if request.kind is RequestKind.COMMENT:
        return decisions.comment(
            session,
            expense_id=request.expense_id,
            slack_user_id=request.slack_user_id,
            text=request.reason or "",
        )
    verdict = (
        decisions.Verdict.APPROVE
        if request.kind is RequestKind.APPROVE
        else decisions.Verdict.REJECT
    )
    return decisions.decide_step(
        session,
        expense_id=request.expense_id,
        step=request.step,
        slack_user_id=request.slack_user_id,
        verdict=verdict,
        reason=request.reason,
    )


def unapplied(session: Session, *, received_before: datetime, limit: int) -> list[str]:
    """Signatures of recorded requests nobody applied: their process died after acking."""
    return list(
        session.scalars(
            select(SlackRequestReceipt.signature)
            .where(
                SlackRequestReceipt.decision_request.is_not(None),
                SlackRequestReceipt.processed_at.is_(None),
                SlackRequestReceipt.received_at < received_before,
            )
            .order_by(SlackRequestReceipt.received_at)
            .limit(limit)
        )
    )
