"""Block Kit builders: escaping, Slack's limits (checked by the strict sandbox rules), buttons."""

import json
from datetime import UTC, datetime

import pytest

from app.domain.advice import ConfidenceMethod, LlmAdvice, Recommendation
from app.domain.workflow import Status
from app.services.decisions import DecisionOutcome, PriorDecision, Result, Verdict
from slack.answers import answer_text
from slack.blocks import DecisionView, approval_card, outcome_notice, reason_modal
from slack.ids import ActionId, CallbackId, CardRef, ModalRef
from slack.sandbox.validation import BlockError, check_blocks, check_modal
from slack.text import escape, escape_within
from tests.slack.cards import EXPENSE_ID, view


def all_text(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks)


def test_escape_neutralises_mentions() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_escape_within_never_cuts_an_entity() -> None:
    cut = escape_within("&" * 10, 12)
    assert cut == "&amp;&amp;…"
    assert escape_within("short", 10) == "short"


def test_description_injection_pings_nobody() -> None:
    blocks = approval_card(
        view(description="<!channel> pay <@U0BOB> <https://evil|x>", merchant="<!here>")
    )
    text = all_text(blocks)
    assert "<!channel>" not in text
    assert "<!here>" not in text
    assert "<@U0BOB>" not in text
    assert "&lt;!channel&gt;" in text


def test_pending_card_has_four_buttons_with_typed_refs() -> None:
    blocks = approval_card(view())
    actions = [b for b in blocks if b["type"] == "actions"][0]
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == [ActionId.APPROVE, ActionId.REJECT, ActionId.ASK, ActionId.COMMENT]
    ref = CardRef.model_validate_json(actions["elements"][0]["value"])
    assert str(ref.expense_id) == EXPENSE_ID
    assert ref.step == 0
    check_blocks(blocks)


def test_decided_card_has_no_buttons_and_names_the_decider() -> None:
    decided = view(
        status=Status.APPROVED,
        decisions=(
            DecisionView(
                0, "approver", "approve", "U0BOB", None, datetime(2026, 11, 22, tzinfo=UTC)
            ),
        ),
    )
    blocks = approval_card(decided)
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "by <@U0BOB> at 2026-11-22 00:00 UTC" in all_text(blocks)


@pytest.mark.parametrize("char", ["a", "&", "<"])
def test_longest_inputs_still_fit_slack_limits(char: str) -> None:
    huge = view(
        description=char * 2000,
        merchant=char * 200,
        category=char * 64,
        route_reasons=tuple(char * 400 for _ in range(20)),
        llm_advice=LlmAdvice(Recommendation.APPROVE, 1.0, (char * 500,) * 10, char * 200),
    )
    check_blocks(approval_card(huge))


def test_strict_validation_rejects_oversize_sections() -> None:
    with pytest.raises(BlockError, match="3001"):
        check_blocks([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
    with pytest.raises(BlockError, match="at most 50"):
        check_blocks([{"type": "divider"}] * 51)


def test_modal_fits_and_carries_its_reference() -> None:
    ref = ModalRef(e=EXPENSE_ID, s=1, c="C0APPROVALS")
    modal = reason_modal(CallbackId.REJECT_MODAL, ref)
    check_modal(modal)
    assert ModalRef.model_validate_json(modal["private_metadata"]) == ref


def test_outcome_notice_quotes_reason_safely() -> None:
    text = outcome_notice(
        status=Status.REJECTED,
        amount="5.00",
        currency="USD",
        merchant="<b>",
        decisions=(
            DecisionView(
                0, "approver", "reject", "U0BOB", "<!channel>", datetime(2026, 1, 1, tzinfo=UTC)
            ),
        ),
    )
    assert "<!channel>" not in text
    assert "rejected by <@U0BOB>" in text


def test_llm_reasons_are_escaped_exactly_once() -> None:
    advice = LlmAdvice(Recommendation.APPROVE, 0.97, ("Fits Q&A policy <clause 4>",), "m&m")
    text = all_text(approval_card(view(llm_advice=advice)))
    assert "Fits Q&amp;A policy &lt;clause 4&gt;" in text
    assert "&amp;amp;" not in text
    assert "&amp;lt;" not in text
    assert "m&amp;m" in text


@pytest.mark.parametrize(
    ("method", "shown"),
    [
        (ConfidenceMethod.LOGPROBS, "confidence 0.97, measured from token probabilities"),
        (ConfidenceMethod.SELF_REPORTED, "confidence 0.89, self-reported, discounted"),
    ],
)
def test_card_says_how_the_confidence_was_obtained(method: ConfidenceMethod, shown: str) -> None:
    confidence = 0.97 if method is ConfidenceMethod.LOGPROBS else 0.891
    advice = LlmAdvice(Recommendation.APPROVE, confidence, ("ok",), "m", method, 0.99)
    assert shown in all_text(approval_card(view(llm_advice=advice)))


@pytest.mark.parametrize(
    ("url", "counted", "shown"),
    [
        (None, False, "*Receipt:*\\nnone"),
        ("https://tinyurl.com/x", False, "link not counted"),
        (
            "https://files.corp.example/a?b=1&c=|",
            True,
            "<https://files.corp.example/a?b=1&amp;c=%7C|",
        ),
    ],
)
def test_receipt_field_says_whether_the_link_counts(
    url: str | None, counted: bool, shown: str
) -> None:
    text = all_text(approval_card(view(receipt_url=url, receipt_counted=counted)))
    assert shown in text
    if not counted:
        assert "tinyurl" not in text  # an uncounted link is not offered to click


def test_answers_word_each_outcome_for_the_clicker() -> None:
    when = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    prior = PriorDecision(Verdict.APPROVE, "U0BOB", when)
    already = DecisionOutcome(Result.ALREADY_DECIDED, status=Status.APPROVED, prior=prior)
    assert answer_text(already) == "Already approved by <@U0BOB> at 2026-11-22 09:30 UTC."
    closed = DecisionOutcome(Result.ALREADY_DECIDED, status=Status.REJECTED)
    assert answer_text(closed) == "This expense is rejected; there is nothing to decide."
    own = DecisionOutcome(Result.REFUSED, refusal="self_approval", step_role="approver")
    assert answer_text(own) == "You cannot decide your own expense."
    role = DecisionOutcome(Result.REFUSED, refusal="missing_role", step_role="finance")
    assert answer_text(role) == "This step needs the finance role, which you do not have."
    assert answer_text(DecisionOutcome(Result.DECIDED)) is None
    assert answer_text(None) == "This expense no longer exists."


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (Status.EXPIRED, "expired: nobody decided it in time. It was not rejected"),
        (Status.CANCELLED, "was cancelled, as you asked"),
        (Status.APPROVED, "was approved automatically under policy"),
    ],
)
def test_outcome_notices_name_every_ending(status: Status, phrase: str) -> None:
    text = outcome_notice(status=status, amount="5.00", currency="USD", merchant="M", decisions=())
    assert phrase in text
    assert "rejected" not in text.replace("not rejected", "")


def test_an_uploaded_receipt_is_linked_through_the_app() -> None:
    url = "https://bot.example/receipts/" + "ab" * 32 + "?sig=abc|def&x<y"
    blocks = approval_card(view(receipt_file_url=url, receipt_file_type="image/png"))
    check_blocks(blocks)
    text = all_text(blocks)
    # Escaped, and a | inside the URL cannot end it early.
    link = "<https://bot.example/receipts/" + "ab" * 32 + "?sig=abc%7Cdef&amp;x&lt;y"
    assert link + "|open uploaded receipt (PNG)>" in text
    assert "*Receipt:*\\nnone" not in text


def test_a_card_without_an_upload_has_no_receipt_file_link() -> None:
    text = all_text(approval_card(view()))
    assert "uploaded receipt" not in text
    assert "*Receipt:*\\nnone" in text
