"""Reads the decision a Slack request asks for (approve, reject, comment, ask, answer), if any."""

from typing import Any

from sqlalchemy.orm import Session

from app.domain.requests import DecisionRequest, RequestKind
from app.services.conversation import question_thread
from app.services.decisions import MAX_REASON_LENGTH
from slack.ids import REASON_INPUT, ActionId, BlockId, CallbackId
from slack.listeners.common import card_ref, modal_ref

MODAL_KINDS = {
    CallbackId.REJECT_MODAL.value: RequestKind.REJECT,
    CallbackId.COMMENT_MODAL.value: RequestKind.COMMENT,
    CallbackId.ASK_MODAL.value: RequestKind.ASK,
}


def typed_reason(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    raw = values.get(BlockId.REASON.value, {}).get(REASON_INPUT, {}).get("value")
    return (raw or "").strip()


def reason_problem(reason: str, what: str) -> str | None:
    """What the modal should say about the typed text, or None when it will do."""
    if not reason:
        return f"Please write a {what}."
    if len(reason) > MAX_REASON_LENGTH:
        return f"Keep it under {MAX_REASON_LENGTH} characters."
    return None


def decision_request(body: dict[str, Any]) -> DecisionRequest | None:
    """The decision in an Approve click or a Reject/Comment modal submission, else None."""
    user = body.get("user", {}).get("id")
    if body.get("type") == "block_actions":
        action = (body.get("actions") or [{}])[0]
        # A click on the Home tab has no channel: the clicker is answered in their DM with us.
        channel = (body.get("channel") or {}).get("id") or user
        ref = card_ref(body) if action.get("action_id") == ActionId.APPROVE.value else None
        if ref is None or not user or not channel:
            return None
        return DecisionRequest(RequestKind.APPROVE, ref.expense_id, ref.step, user, channel)
    if body.get("type") == "view_submission":
        view = body.get("view") or {}
        kind = MODAL_KINDS.get(view.get("callback_id", ""))
        modal = modal_ref(view) if kind else None
        reason = typed_reason(view)
        if kind is None or modal is None or not user or reason_problem(reason, "reason"):
            return None
        return DecisionRequest(kind, modal.expense_id, modal.step, user, modal.channel, reason)
    return None


def answer_request(session: Session, body: dict[str, Any]) -> DecisionRequest | None:
    """A person's reply in the direct-message thread of a question we sent them, else None."""
    event = body.get("event") or {}
    if body.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    if event.get("type") != "message" or event.get("channel_type") != "im":
        return None
    if event.get("subtype") or event.get("bot_id"):  # edits, deletions and our own posts
        return None
    user, channel, thread = event.get("user"), event.get("channel"), event.get("thread_ts")
    text = str(event.get("text") or "").strip()
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(thread, str)):
        return None
    if reason_problem(text, "answer"):
        return None
    asked = question_thread(session, channel, thread)
    if asked is None:
        return None
    expense_id, step = asked
    return DecisionRequest(RequestKind.ANSWER, expense_id, step, user, channel, text)
