"""Reads the decision a Slack request asks for (approve, reject, comment), if it asks for one."""

from typing import Any

from app.domain.requests import DecisionRequest, RequestKind
from app.services.decisions import MAX_REASON_LENGTH
from slack.ids import REASON_INPUT, ActionId, BlockId, CallbackId
from slack.listeners.common import card_ref, modal_ref

MODAL_KINDS = {
    CallbackId.REJECT_MODAL.value: RequestKind.REJECT,
    CallbackId.COMMENT_MODAL.value: RequestKind.COMMENT,
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
        channel = (body.get("channel") or {}).get("id")
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
