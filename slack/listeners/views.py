"""Modal submissions: refuse an empty reason inside the modal, then reject or record the comment."""

from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from app.db import Database
from app.services.decisions import MAX_REASON_LENGTH, Verdict, comment, decide
from slack.ids import REASON_INPUT, BlockId, CallbackId
from slack.listeners.common import AfterAck, decide_and_answer, modal_ref


def _reason(view: dict[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    raw = values.get(BlockId.REASON.value, {}).get(REASON_INPUT, {}).get("value")
    return (raw or "").strip()


def _check_reason(ack: Ack, reason: str, what: str) -> bool:
    if not reason:
        ack(response_action="errors", errors={BlockId.REASON.value: f"Please write a {what}."})
        return False
    if len(reason) > MAX_REASON_LENGTH:
        ack(
            response_action="errors",
            errors={BlockId.REASON.value: f"Keep it under {MAX_REASON_LENGTH} characters."},
        )
        return False
    ack()
    return True


def register(bolt: App, db: Database, after_ack: AfterAck) -> None:
    @bolt.view(CallbackId.REJECT_MODAL.value)
    def reject_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        reason = _reason(view)
        if not _check_reason(ack, reason, "reason"):
            return
        ref = modal_ref(view)
        user = body["user"]["id"]
        if ref is None:
            return
        reject = partial(
            decide,
            expense_id=ref.expense_id,
            step=ref.step,
            slack_user_id=user,
            verdict=Verdict.REJECT,
            reason=reason,
        )
        after_ack.submit(decide_and_answer, db, client, ref.channel, user, reject)

    @bolt.view(CallbackId.COMMENT_MODAL.value)
    def comment_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        text = _reason(view)
        if not _check_reason(ack, text, "comment"):
            return
        ref = modal_ref(view)
        user = body["user"]["id"]
        if ref is None:
            return
        add_comment = partial(comment, expense_id=ref.expense_id, slack_user_id=user, text=text)
        after_ack.submit(decide_and_answer, db, client, ref.channel, user, add_comment)
