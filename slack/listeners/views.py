"""Modal submissions: refuse an empty reason inside the modal, then reject or record the comment."""

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from app.db import Database
from slack.decision_requests import reason_problem, typed_reason
from slack.ids import BlockId, CallbackId
from slack.listeners.common import RECEIPT, AfterAck, apply_and_answer


def register(bolt: App, db: Database, after_ack: AfterAck) -> None:
    def submitted(
        ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient, what: str
    ) -> None:
        problem = reason_problem(typed_reason(view), what)
        if problem is not None:
            ack(response_action="errors", errors={BlockId.REASON.value: problem})
            return
        # The decision was recorded with the request before this ack; apply it after.
        ack()
        after_ack.submit(apply_and_answer, db, client, context[RECEIPT])

    @bolt.view(CallbackId.REJECT_MODAL.value)
    def reject_submitted(
        ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        submitted(ack, view, context, client, "reason")

    @bolt.view(CallbackId.ASK_MODAL.value)
    def ask_submitted(
        ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        submitted(ack, view, context, client, "question")

    @bolt.view(CallbackId.COMMENT_MODAL.value)
    def comment_submitted(
        ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        submitted(ack, view, context, client, "comment")
