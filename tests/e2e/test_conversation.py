"""The conversation end to end: ask, answer by DM reply or API, cancel, App Home, stale cards.

Real API and worker processes, on PostgreSQL and Redis, driven by signed Slack payloads of
Slack's own shapes against the Slack stand-in.
"""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bench.standins.server import ServerThread
from slack.ids import ActionId, CallbackId
from tests.e2e.conftest import postgres_stack
from tests.e2e.harness import Stack, expense_body, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, openai_standin: ServerThread, redis_url: str
) -> Iterator[Stack]:
    # The approvals channel by name: the processes resolve it through conversations.list.
    yield from postgres_stack(
        tmp_path_factory.mktemp("conversation"),
        openai_standin,
        redis_url,
        SLACK_APPROVALS_CHANNEL="#expenses",
    )


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def has_buttons(message: dict[str, Any]) -> bool:
    return any(b["type"] == "actions" for b in message["blocks"])


def card_showing(stack: Stack, expense_id: str, words: str, *, buttons: bool) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        card = stack.fresh_card(expense_id)
        return card if words in text_of(card) and has_buttons(card) is buttons else None

    return wait_for(probe, what=f"card {expense_id} showing {words!r}")


def unique_merchant() -> str:
    return f"Client Co {uuid.uuid4().hex[:6]}"


def ask(stack: Stack, expense_id: str, approver: str, question: str) -> dict[str, Any]:
    """Asks through the card's button and modal; returns the card as it was clicked."""
    card = stack.card(expense_id)
    assert stack.click(approver, card, ActionId.ASK).status_code == 200
    modal = stack.open_view(approver, CallbackId.ASK_MODAL, expense_id)
    assert stack.submit_view(approver, modal, question).status_code == 200
    stack.wait_status(expense_id, "needs_info")
    return card


def question_dm(stack: Stack, user: str, merchant: str) -> dict[str, Any]:
    return wait_for(
        lambda: next(
            (
                m
                for m in stack.messages("question:")
                if m["channel"] == "D" + user[1:] and merchant in m["text"]
            ),
            None,
        ),
        what=f"the question DM to {user}",
    )


def cancel_losing_the_redraw(stack: Stack, expense_id: str, card: dict[str, Any]) -> None:
    """Dana cancels while Slack refuses chat.update in the card's channel: the card goes stale."""
    stack.break_channel(card["channel"], "channel_not_found")
    try:
        assert stack.cancel("dana", expense_id).status_code == 200
        wait_for(
            lambda: any(
                c["method"] == "chat.update" and c.get("error") == "channel_not_found"
                for c in stack.state()["calls"]
            ),
            what="the lost chat.update",
        )
    finally:
        stack.clear_failures()
    assert has_buttons(stack.fresh_card(expense_id))  # stale: it still offers to decide


def test_a_question_is_answered_by_a_reply_in_the_dm_thread(stack: Stack) -> None:
    merchant = unique_merchant()
    expense_id = stack.submit_ok("alice", expense_body(amount="1500.00", merchant=merchant))
    clicked = ask(stack, expense_id, "U0BOB", "Which client was this for?")
    card = card_showing(stack, expense_id, "asked: Which client was this for?", buttons=False)
    assert "waiting for the submitter to answer" in text_of(card)
    dm = question_dm(stack, "U0ALICE", merchant)
    assert "<@U0BOB> has a question" in dm["text"]
    # Bob cannot decide while the question is open; he is told why, and the card stays true.
    stack.click("U0BOB", clicked, ActionId.APPROVE)
    wait_for(
        lambda: any("waits for the submitter's answer" in t for t in stack.ephemerals("U0BOB")),
        what="Bob told the expense waits for an answer",
    )
    assert stack.reply_in_thread("U0ALICE", dm, "Acme & Sons, the kickoff").status_code == 200
    stack.wait_status(expense_id, "pending_approval")
    card = card_showing(stack, expense_id, "answered: Acme &amp; Sons", buttons=True)
    # The step is Bob's again: his Home tab lists it without his opening it.
    wait_for(
        lambda: expense_id in json.dumps(stack.home("U0BOB") or {}),
        what="Bob's Home tab listing the answered step",
    )
    wait_for(
        lambda: any(
            "your answer is on the approval card" in t for t in stack.ephemerals("U0ALICE")
        ),
        what="Alice told her answer was passed on",
    )
    stack.click("U0BOB", card, ActionId.APPROVE)
    done = stack.wait_status(expense_id, "approved")
    events = {e["action"]: e for e in done["history"]}
    asked, answered = events["info_requested"], events["answered"]
    assert (asked["channel"], asked["actor_id"], asked["reason"]) == (
        "slack",
        "U0BOB",
        "Which client was this for?",
    )
    assert (answered["channel"], answered["actor_id"], answered["actor_email"]) == (
        "slack",
        "U0ALICE",
        "alice@example.com",
    )
    assert (answered["from_status"], answered["to_status"]) == ("needs_info", "pending_approval")


def test_a_question_is_answered_through_the_api_and_only_by_the_submitter(stack: Stack) -> None:
    merchant = unique_merchant()
    expense_id = stack.submit_ok("alice", expense_body(amount="1600.00", merchant=merchant))
    ask(stack, expense_id, "U0BOB", "Receipt?")
    refused = stack.comment("carol", expense_id, "I answer for her")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 403
    answered = stack.comment("alice", expense_id, "Attached to the expense report")
    assert answered.status_code == 201, answered.text
    assert answered.json()["status"] == "pending_approval"
    card_showing(stack, expense_id, "answered: Attached to the expense report", buttons=True)
    history = stack.expense(expense_id)["history"]
    refusal = next(e for e in history if e["action"] == "decision_refused")
    assert (refusal["channel"], refusal["actor_email"]) == ("api", "carol@example.com")
    answer = next(e for e in history if e["action"] == "answered")
    assert (answer["channel"], answer["actor_email"]) == ("api", "alice@example.com")
    stack.verify_audit_log()


def test_the_submitter_cancels_and_the_card_loses_its_buttons(stack: Stack) -> None:
    expense_id = stack.submit_ok("dana", expense_body(amount="1700.00", merchant=unique_merchant()))
    card = stack.card(expense_id)
    # The channel was configured by name and resolved to the stand-in's id at start.
    assert card["channel"] == "C0EXPENSES"
    refused = stack.cancel("carol", expense_id)
    assert refused.status_code == 403
    cancelled = stack.cancel("dana", expense_id)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    card_showing(stack, expense_id, "cancelled by the submitter", buttons=False)
    notice = wait_for(
        lambda: [m for m in stack.messages(f"dm:{expense_id}") if m["channel"] == "D0DANA"],
        what="the cancellation DM",
    )
    assert "was cancelled" in notice[0]["text"]
    again = stack.cancel("dana", expense_id)
    assert again.status_code == 409
    assert again.json()["detail"] == "the expense is cancelled; nothing to cancel"
    history = stack.expense(expense_id)["history"]
    assert [e["action"] for e in history][-1] == "cancelled"


def test_the_home_tab_lists_steps_and_decides_them(stack: Stack) -> None:
    merchant = unique_merchant()
    expense_id = stack.submit_ok("dana", expense_body(amount="1800.00", merchant=merchant))
    stack.card(expense_id)
    bobs = stack.open_home("U0BOB")  # listed for Bob too: any approver decides this step
    home = stack.open_home("U0CAROL")
    assert expense_id in json.dumps(home)
    assert expense_id in json.dumps(bobs)
    assert stack.home_click("U0CAROL", home, expense_id, ActionId.APPROVE).status_code == 200
    done = stack.wait_status(expense_id, "approved")
    assert done["decisions"][0]["slack_user_id"] == "U0CAROL"
    # Refreshed after the decision, without being opened again.
    wait_for(
        lambda: (h := stack.home("U0CAROL")) is not None and expense_id not in json.dumps(h),
        what="Carol's Home tab without the decided step",
    )
    stack.decided_card(expense_id)
    # Bob's tab was open before Carol decided: his click is answered and the tab redrawn.
    assert stack.home_click("U0BOB", bobs, expense_id, ActionId.APPROVE).status_code == 200
    wait_for(
        lambda: any("Already approved by <@U0CAROL>" in t for t in stack.ephemerals("U0BOB")),
        what="Bob told Carol approved it",
    )
    wait_for(
        lambda: expense_id not in json.dumps(stack.home("U0BOB")),
        what="Bob's Home tab without the decided step",
    )
    mine = json.dumps(stack.open_home("U0DANA"), ensure_ascii=False)
    assert "Nothing waits for you." in mine
    line = next(t for t in mine.split('"text": ') if merchant in t)
    assert "*approved*" in line


def test_a_click_on_a_stale_card_redraws_it_and_says_why(stack: Stack) -> None:
    expense_id = stack.submit_ok("dana", expense_body(amount="1900.00", merchant=unique_merchant()))
    card = stack.card(expense_id)
    cancel_losing_the_redraw(stack, expense_id, card)
    stack.click("U0CAROL", card, ActionId.APPROVE)
    wait_for(
        lambda: any(
            "is cancelled; there is nothing to decide" in t for t in stack.ephemerals("U0CAROL")
        ),
        what="Carol told why nothing changed",
    )
    card_showing(stack, expense_id, "cancelled by the submitter", buttons=False)
    assert stack.expense(expense_id)["decisions"] == []
