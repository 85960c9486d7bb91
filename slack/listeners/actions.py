"""Button clicks on cards and the Home tab: Approve decides now; the others open a modal."""

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from app.db import Database
from app.domain.errors import NotFound
from app.services.decisions import open_step
from slack.answers import GONE, answer_text
from slack.blocks import reason_modal
from slack.ids import ActionId, CallbackId, ModalRef
from slack.listeners.common import AfterAck, card_ref, tell


def register(bolt: App, db: Database, after_ack: AfterAck) -> None:
    @bolt.action(ActionId.APPROVE.value)
    def approve(ack: Ack) -> None:
        # The decision was recorded with the request, and queued for a worker, before this ack.
        ack()

    def open_reason_modal(body: dict[str, Any], client: WebClient, callback: CallbackId) -> None:
        ref = card_ref(body)
        user = body["user"]["id"]
        # A Home tab click has no channel: answer in the clicker's direct messages with us.
        channel = (body.get("channel") or {}).get("id") or user
        if ref is None:
            return
        if callback is not CallbackId.COMMENT_MODAL:  # a closed step is explained, not asked on
            try:
                with db.session() as session:
                    closed = open_step(session, ref.expense_id, ref.step, user)
            except NotFound:
                tell(client, channel, user, GONE)
                return
            if closed is not None:
                tell(client, channel, user, answer_text(closed) or GONE)
                return
        modal = ModalRef(e=ref.expense_id, s=ref.step, c=channel)
        # views.open runs here, in the web process: the trigger_id lives only 3 seconds.
        client.views_open(trigger_id=body["trigger_id"], view=reason_modal(callback, modal))

    @bolt.action(ActionId.REJECT.value)
    def reject(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack.submit(open_reason_modal, body, client, CallbackId.REJECT_MODAL)

    @bolt.action(ActionId.ASK.value)
    def ask(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack.submit(open_reason_modal, body, client, CallbackId.ASK_MODAL)

    @bolt.action(ActionId.COMMENT.value)
    def comment(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack.submit(open_reason_modal, body, client, CallbackId.COMMENT_MODAL)
