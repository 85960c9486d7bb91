"""Why a replayed outcome changed, and the calibration figures: pure functions, no database."""

from decimal import Decimal

from app.domain.advice import LlmAdvice, Recommendation
from app.domain.backtest import Recorded, change
from app.domain.calibration import Judged, by_bucket, by_threshold
from app.domain.gate import GateDecision, route_expense
from app.domain.rules import ExpenseFacts
from app.policy_loader import load_policy
from app.settings import DEFAULT_POLICY_FILE

POLICY = load_policy(DEFAULT_POLICY_FILE)
APPROVE = LlmAdvice(Recommendation.APPROVE, 0.99, (), "m")


def decision(merchant: str = "Rail", amount: str = "100.00") -> GateDecision:
    return route_expense(
        POLICY, ExpenseFacts(Decimal(amount), "USD", "travel", True, merchant=merchant), APPROVE
    )


def test_the_same_outcome_is_no_change() -> None:
    assert change(Recorded("auto_approve", []), decision()) is None


def test_a_change_names_the_rules_that_now_break_or_no_longer_break() -> None:
    old_trace = [{"rule": "receipt_present", "passed": False, "detail": "a receipt is required"}]
    why = change(Recorded("human", old_trace), decision(merchant="casino"))
    assert why == (
        "now breaks forbidden_merchant: forbidden merchant: casino; "
        "no longer breaks receipt_present"
    )


def test_without_a_recorded_trace_the_new_reasons_explain() -> None:
    why = change(Recorded("auto_approve", None), decision(amount="1000.00"))
    assert why == "amount is not below the 1000 auto-approval limit"


def judged(
    recommendation: Recommendation, confidence: float, approved: bool, amount: str = "10"
) -> Judged:
    return Judged(recommendation, confidence, approved, Decimal(amount))


def test_buckets_count_agreement_including_both_edges() -> None:
    items = [
        judged(Recommendation.APPROVE, 1.0, True),
        judged(Recommendation.APPROVE, 0.95, False),
        judged(Recommendation.REJECT, 0.949, False),
        judged(Recommendation.NEEDS_REVIEW, 0.0, True),
    ]
    rows = {row[0]: row[1:] for row in by_bucket(items)}
    assert rows["0.95-1.00"] == (2, 1, "0.500", "0.975")
    assert rows["0.90-0.95"] == (1, 1, "1.000", "0.949")
    assert rows["0.00-0.50"] == (1, 0, "0.000", "0.000")
    assert rows["0.50-0.60"] == (0, 0, "", "")


def test_thresholds_count_the_approvals_a_human_then_rejected() -> None:
    items = [
        judged(Recommendation.APPROVE, 0.99, False, "40.50"),
        judged(Recommendation.APPROVE, 0.9, False, "9.50"),
        judged(Recommendation.APPROVE, 0.9, True),
        judged(Recommendation.REJECT, 0.99, False),
    ]
    rows = {row[0]: row[1:] for row in by_threshold(items)}
    assert rows["0.90"] == (3, 2, "0.667", "50.00")
    assert rows["0.99"] == (1, 1, "1.000", "40.50")
