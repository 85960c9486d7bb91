"""The conversation on cards and the Home tab: questions, answers, cancelled, Slack's limits."""

import json
from typing import Any

from app.domain.workflow import Status
from slack.blocks import NoteView, approval_card, question_notice, reason_modal
from slack.home_view import OwnItem, PendingItem, home_view, unlinked_home
from slack.ids import ActionId, CallbackId, CardRef, ModalRef
from slack.sandbox.validation import check_blocks, check_modal
from tests.slack.cards import EXPENSE_ID, view

QUESTION = NoteView("question", "U0BOB", "Bob", "Which client? <!channel>")
ANSWER = NoteView("answer", "U0ALICE", "Alice", "Acme & Co")


def buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [str(e["action_id"]) for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_a_card_that_needs_info_shows_the_question_and_has_no_buttons() -> None:
    blocks = approval_card(view(status=Status.NEEDS_INFO, conversation=(QUESTION,)))
    text = json.dumps(blocks, ensure_ascii=False)
    assert "❓ <@U0BOB> asked: Which client? &lt;!channel&gt;" in text
    assert "waiting for the submitter to answer" in text
    assert buttons(blocks) == []
    check_blocks(blocks)


def test_after_the_answer_the_step_has_its_buttons_back_and_shows_both() -> None:
    blocks = approval_card(view(conversation=(QUESTION, ANSWER)))
    text = json.dumps(blocks, ensure_ascii=False)
    assert text.index("asked") < text.index("💬 <@U0ALICE> answered: Acme &amp; Co")
    assert buttons(blocks) == [ActionId.APPROVE, ActionId.REJECT, ActionId.ASK, ActionId.COMMENT]


def test_a_cancelled_card_says_so_without_buttons() -> None:
    blocks = approval_card(view(status=Status.CANCELLED))
    assert "cancelled by the submitter" in json.dumps(blocks, ensure_ascii=False)
    assert buttons(blocks) == []


def test_a_long_conversation_keeps_the_card_within_slacks_limits() -> None:
    notes = tuple(NoteView("question", "U0BOB", "Bob", "x" * 3000) for _ in range(40))
    blocks = approval_card(view(conversation=notes))
    check_blocks(blocks)
    assert sum("asked" in json.dumps(b) for b in blocks) == 6


def test_the_ask_modal_asks_for_a_question() -> None:
    modal = reason_modal(CallbackId.ASK_MODAL, ModalRef(e=EXPENSE_ID, s=0, c="C1"))
    check_modal(modal)
    assert modal["callback_id"] == CallbackId.ASK_MODAL
    assert modal["blocks"][0]["label"]["text"] == "Question"


def test_the_question_dm_quotes_the_question_escaped() -> None:
    text = question_notice(
        asker_slack_id="U0BOB", amount="12.00", currency="USD", merchant="Cafe", question="<@U1>?"
    )
    assert text.startswith("<@U0BOB> has a question")
    assert "&lt;@U1&gt;?" in text
    assert "Reply in this thread" in text


def test_the_home_tab_lists_steps_with_the_cards_buttons_and_own_expenses() -> None:
    pending = [
        PendingItem(EXPENSE_ID, 0, "any approver", "Alice", "1500.00", "USD", "Rail <Co>", "travel")
    ]
    own = [OwnItem("12.00", "USD", "Cafe", "needs_info", "2026-11-20")]
    home = home_view(pending, own)
    assert home["type"] == "home"
    check_blocks(home["blocks"], limit=100)
    assert buttons(home["blocks"]) == [ActionId.APPROVE, ActionId.REJECT, ActionId.ASK]
    actions = next(b for b in home["blocks"] if b["type"] == "actions")
    ref = CardRef.model_validate_json(actions["elements"][0]["value"])
    assert (str(ref.expense_id), ref.step) == (EXPENSE_ID, 0)
    text = json.dumps(home)
    assert "Rail &lt;Co&gt;" in text
    assert "*needs info*" in text


def test_someone_not_in_the_directory_is_told_so() -> None:
    home = unlinked_home()
    check_blocks(home["blocks"], limit=100)
    assert "not linked to an employee" in json.dumps(home)


def test_an_empty_home_tab_says_so() -> None:
    text = json.dumps(home_view([], []))
    assert "Nothing waits for you." in text
    assert "You have not submitted any expenses." in text
