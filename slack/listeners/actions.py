"""Button clicks on approval cards: Approve decides now; Reject and Comment open a modal."""

from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from app.db import Database
from app.domain.workflow import Status
from app.services.decisions import Verdict, decide, describe_step
from models import Expense
from slack.blocks import reason_modal
from slack.ids import ActionId, CallbackId, ModalRef
from slack.listeners.common import AfterAck, card_ref, decide_and_answer, tell


def register(bolt: App, db: Database, after_ack: AfterAck) -> None:
    def approve_work(body: dict[str, Any], client: WebClient) -> None:
        ref = card_ref(body)
        user, channel = body["user"]["id"], body["channel"]["id"]
        if ref is None:
            return
        approve_step = partial(
            decide,
            expense_id=ref.expense_id,
            step=ref.step,
            slack_user_id=user,
            verdict=Verdict.APPROVE,
        )
        decide_and_answer(db, client, channel, user, approve_step)

    @bolt.action(ActionId.APPROVE.value)
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack.submit(approve_work, body, client)

    def open_reason_modal(body: dict[str, Any], client: WebClient, callback: CallbackId) -> None:
        ref = card_ref(body)
        user, channel = body["user"]["id"], body["channel"]["id"]
        if ref is None:
            return
        if callback is CallbackId.REJECT_MODAL:
            with db.session() as session:
                expense = session.get(Expense, ref.expense_id)
                if expense is None:
                    tell(client, channel, user, "This expense no longer exists.")
                    return
                if (
                    expense.status != Status.PENDING_APPROVAL.value
                    or expense.current_step != ref.step
                ):
                    tell(client, channel, user, describe_step(session, expense, ref.step))
                    return
        modal = ModalRef(e=ref.expense_id, s=ref.step, c=channel)
        # views.open runs here, in the web process: the trigger_id lives only 3 seconds.
        client.views_open(trigger_id=body["trigger_id"], view=reason_modal(callback, modal))

    @bolt.action(ActionId.REJECT.value)
    def reject(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack.submit(open_reason_modal, body, client, CallbackId.REJECT_MODAL)

    @bolt.action(ActionId.COMMENT.value)
    def comment(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack.submit(open_reason_modal, body, client, CallbackId.COMMENT_MODAL)
