"""Modal submissions: refuse an empty reason inside the modal, then reject or record the comment."""

from typing import Any

from slack_bolt import Ack, App

from slack.decision_requests import reason_problem, typed_reason
from slack.ids import BlockId, CallbackId


def register(bolt: App) -> None:
    def submitted(ack: Ack, view: dict[str, Any], what: str) -> None:
        problem = reason_problem(typed_reason(view), what)
        if problem is not None:
            ack(response_action="errors", errors={BlockId.REASON.value: problem})
            return
        # The decision was recorded with the request, and queued for a worker, before this ack.
        ack()

    @bolt.view(CallbackId.REJECT_MODAL.value)
    def reject_submitted(ack: Ack, view: dict[str, Any]) -> None:
        submitted(ack, view, "reason")

    @bolt.view(CallbackId.ASK_MODAL.value)
    def ask_submitted(ack: Ack, view: dict[str, Any]) -> None:
        submitted(ack, view, "question")

    @bolt.view(CallbackId.COMMENT_MODAL.value)
    def comment_submitted(ack: Ack, view: dict[str, Any]) -> None:
        submitted(ack, view, "comment")
