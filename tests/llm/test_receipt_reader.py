"""Reading a receipt image with the real openai client against the OpenAI stand-in."""

import base64
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain.gate import route_expense
from app.domain.receipt_check import ReceiptReading, ReceiptUnread
from app.domain.receipt_files import ReceiptType
from app.domain.rules import ExpenseFacts, evaluate_rules
from app.llm.reviewer import OpenAIReviewer, review_input
from app.policy_loader import load_policy
from app.settings import DEFAULT_POLICY_FILE
from bench.standins.server import ServerThread
from tests.llm.conftest import reviewer
from tests.receipt_files import pdf, png

POLICY = load_policy(DEFAULT_POLICY_FILE)
FIGURES = {"total": "42.50", "currency": "usd", "date": "2026-11-20", "merchant": "Cab Co Ltd"}


def vision(standin: ServerThread) -> OpenAIReviewer:
    return reviewer(standin, openai_vision=True)


def sent(standin: ServerThread, seen: int) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = standin.app.state.requests
    return requests[seen:]


def test_the_image_is_sent_as_a_data_url_and_its_figures_come_back(standin: ServerThread) -> None:
    seen = len(standin.app.state.requests)
    image = png(FIGURES)
    read = vision(standin).read_receipt(image, ReceiptType.PNG)
    assert read == ReceiptReading(Decimal("42.50"), "USD", date(2026, 11, 20), "Cab Co Ltd")
    [request] = sent(standin, seen)
    [message] = request["messages"]
    url = message["content"][1]["image_url"]["url"]
    assert url == "data:image/png;base64," + base64.b64encode(image).decode()
    assert request["response_format"]["json_schema"]["name"] == "receipt_figures"


def test_unreadable_figures_are_none(standin: ServerThread) -> None:
    read = vision(standin).read_receipt(png(), ReceiptType.PNG)
    assert read == ReceiptReading(None, None, None, None)
    garbled = {"total": "about twelve", "currency": "dollars", "date": "Tuesday", "merchant": ""}
    read = vision(standin).read_receipt(png(garbled), ReceiptType.PNG)
    assert read == ReceiptReading(None, None, None, None)


def test_pdf_and_heic_and_vision_off_are_not_sent(standin: ServerThread) -> None:
    seen = len(standin.app.state.requests)
    assert vision(standin).read_receipt(pdf(), ReceiptType.PDF) == ReceiptUnread(
        "PDF receipts are not sent to the model"
    )
    assert vision(standin).read_receipt(b"", ReceiptType.HEIC) == ReceiptUnread(
        "HEIC receipts are not sent to the model"
    )
    off = reviewer(standin, openai_vision=False).read_receipt(png(FIGURES), ReceiptType.PNG)
    assert off == ReceiptUnread("OPENAI_VISION is off")
    assert sent(standin, seen) == []


def test_a_mismatch_read_off_the_receipt_is_a_failed_rule_a_human_sees(
    standin: ServerThread,
) -> None:
    read = vision(standin).read_receipt(png({**FIGURES, "total": "61.00"}), ReceiptType.PNG)
    facts = ExpenseFacts(
        Decimal("42.50"),
        "USD",
        "travel",
        True,
        merchant="Cab Co",
        incurred_on=date(2026, 11, 20),
        receipt_reading=read,
    )
    review = review_input(facts, "Cab Co", "Taxi", "2026-11-20")
    advice = vision(standin).review(review, POLICY, evaluate_rules(POLICY, facts))
    decision = route_expense(POLICY, facts, advice)
    [failed] = [r for r in decision.rule_trace if not r.passed]
    assert failed.rule == "receipt_matches"
    assert failed.figure == "61.00 USD, 2026-11-20, Cab Co Ltd"
    assert failed.limit == "42.50 USD, 2026-11-20, Cab Co"
    assert "rule receipt_matches: total 61.00 on the receipt, 42.50 claimed" in decision.reasons
