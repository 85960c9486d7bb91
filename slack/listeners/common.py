"""Helpers the listeners share: decoding references and answering one user privately."""

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from app.db import Database
from app.domain.requests import RequestKind
from app.metrics import DECISIONS, TIME_TO_HUMAN_DECISION
from app.services.decision_requests import Applied, apply_request
from app.services.decisions import Result
from slack.answers import ANSWER_PASSED_ON, answer_text
from slack.ids import CardRef, ModalRef

log = logging.getLogger(__name__)


class AfterAck:
    """Runs listener work on its own pool, so Bolt's threads only ack and never queue behind it."""

    def __init__(self, threads: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="slack-after-ack")

    def submit(self, work: Callable[..., None], *args: Any) -> None:
        self._pool.submit(self._logged, work, *args)

    @staticmethod
    def _logged(work: Callable[..., None], *args: Any) -> None:
        try:
            work(*args)
        except Exception:
            log.exception("Slack listener work failed after ack")


def card_ref(body: dict[str, Any]) -> CardRef | None:
    try:
        return CardRef.model_validate_json(body["actions"][0]["value"])
    except (KeyError, IndexError, ValidationError):
        log.warning("ignoring a click with an unreadable button value")
        return None


def modal_ref(view: dict[str, Any]) -> ModalRef | None:
    try:
        return ModalRef.model_validate_json(view.get("private_metadata") or "")
    except ValidationError:
        log.warning("ignoring a modal with unreadable private_metadata")
        return None


def apply_and_answer(db: Database, client: WebClient, signature: str) -> None:
    """Apply the decision recorded with this request; explain privately if nothing changed."""
    with db.session() as session:
        applied = apply_request(session, signature)
    if applied is not None:
        count_decision(applied)
        answer(client, applied)


def count_decision(applied: Applied) -> None:
    """A human decision that took effect: counted, with how long its step waited."""
    outcome, kind = applied.outcome, applied.request.kind
    if outcome is None or outcome.result is not Result.DECIDED:
        return
    if kind not in (RequestKind.APPROVE, RequestKind.REJECT):
        return
    DECISIONS.labels("human", "approved" if kind is RequestKind.APPROVE else "rejected").inc()
    if outcome.waited_seconds is not None:
        TIME_TO_HUMAN_DECISION.labels(outcome.step_role or "unknown").observe(
            outcome.waited_seconds
        )


def answer(client: WebClient, applied: Applied) -> None:
    text = answer_text(applied.outcome)
    if text is None and applied.request.kind is RequestKind.ANSWER:
        text = ANSWER_PASSED_ON
    if text is not None:
        tell(client, applied.request.channel, applied.request.slack_user_id, text)


def tell(client: WebClient, channel: str, user: str, text: str) -> None:
    """An ephemeral answer; failing to send it must not undo the recorded outcome."""
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError as exc:
        log.warning("could not send ephemeral to %s: %s", user, exc.response.get("error"))
