"""The policy's decision clauses in the gate: what flags, what auto-rejects, and shadow mode."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from app.domain.advice import LlmAdvice, Recommendation
from app.domain.gate import GateDecision, Route, route_expense
from app.domain.history import History
from app.domain.policy import Policy
from app.domain.policy_clauses import Forbidden, RuleAction
from app.domain.rules import ExpenseFacts
from app.policy_loader import load_policy
from app.settings import DEFAULT_POLICY_FILE

POLICY = load_policy(DEFAULT_POLICY_FILE)
APPROVE = LlmAdvice(Recommendation.APPROVE, 0.99, ("fine",), "m")
MONDAY = date(2026, 11, 30)


def facts(amount: str = "120.00", **changes: object) -> ExpenseFacts:
    base = ExpenseFacts(
        Decimal(amount), "USD", "travel", True, merchant="Rail Co", description="Train",
        incurred_on=MONDAY,
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def with_clauses(**changes: object) -> Policy:
    return replace(POLICY, clauses=replace(POLICY.clauses, **changes))  # type: ignore[arg-type]


def rule(decision: GateDecision, name: str) -> dict[str, str | bool | None]:
    return next(r.as_dict() for r in decision.rule_trace if r.rule == name)


def test_a_clean_expense_is_still_auto_approved_with_every_rule_in_the_trace() -> None:
    decision = route_expense(POLICY, facts(), APPROVE)
    assert decision.route is Route.AUTO_APPROVE
    names = [r.rule for r in decision.rule_trace]
    for name in ("forbidden_merchant", "forbidden_keyword", "duplicate", "monthly_cap"):
        assert name in names
    assert "weekend_or_holiday" in names


def test_a_merchant_marked_reject_is_rejected_without_a_human() -> None:
    decision = route_expense(POLICY, facts(merchant="Lucky Star CASINO"), APPROVE)
    assert decision.route is Route.AUTO_REJECT
    assert decision.steps == ()
    assert rule(decision, "forbidden_merchant")["action"] == "reject"
    assert decision.reasons == ("rule forbidden_merchant: forbidden merchant: casino",)


@pytest.mark.parametrize(
    "expense",
    [
        facts(merchant="Airport Duty Free"),
        facts(description="Gift card for the team"),
        facts(description="personal trip"),
    ],
)
def test_entries_marked_flag_go_to_a_human(expense: ExpenseFacts) -> None:
    decision = route_expense(POLICY, expense, APPROVE)
    assert decision.route is Route.HUMAN
    assert any("forbidden" in r for r in decision.reasons)


def test_keywords_match_whole_words_only() -> None:
    assert route_expense(POLICY, facts(description="personalised mug"), APPROVE).route is (
        Route.AUTO_APPROVE
    )


def test_duplicates_flag_by_default_and_reject_only_when_the_policy_says_so() -> None:
    earlier = facts(history=History(duplicates=("e-1",)))
    flagged = route_expense(POLICY, earlier, APPROVE)
    assert flagged.route is Route.HUMAN
    assert "e-1" in str(rule(flagged, "duplicate")["detail"])
    receipt = route_expense(POLICY, facts(history=History(same_receipt=("e-2",))), APPROVE)
    assert receipt.route is Route.HUMAN
    strict = with_clauses(duplicate_action=RuleAction.REJECT)
    assert route_expense(strict, earlier, APPROVE).route is Route.AUTO_REJECT


def test_monthly_cap_counts_this_claim_on_top_of_the_month() -> None:
    meals = facts("100.00", category="meals", history=History(month_spent=Decimal("650")))
    assert route_expense(POLICY, meals, APPROVE).route is Route.AUTO_APPROVE
    over = replace(meals, history=History(month_spent=Decimal("650.01")))
    decision = route_expense(POLICY, over, APPROVE)
    assert decision.route is Route.HUMAN
    assert rule(decision, "monthly_cap")["figure"] == "750.01"
    unknown = replace(meals, history=History(month_spent=None))
    assert route_expense(POLICY, unknown, APPROVE).route is Route.HUMAN


def test_weekends_and_holidays_are_flagged_when_the_policy_asks() -> None:
    saturday = facts(incurred_on=date(2026, 11, 28))
    assert route_expense(POLICY, saturday, APPROVE).route is Route.AUTO_APPROVE
    policy = with_clauses(flag_weekends=True, holidays=frozenset({MONDAY}))
    assert route_expense(policy, saturday, APPROVE).route is Route.HUMAN
    assert route_expense(policy, facts(), APPROVE).route is Route.HUMAN
    tuesday = facts(incurred_on=date(2026, 12, 1))
    assert route_expense(policy, tuesday, APPROVE).route is Route.AUTO_APPROVE


def test_a_category_limit_below_the_global_one_stops_auto_approval() -> None:
    assert route_expense(POLICY, facts("149.99", category="meals"), APPROVE).route is (
        Route.AUTO_APPROVE
    )
    decision = route_expense(POLICY, facts("150.00", category="meals"), APPROVE)
    assert decision.route is Route.HUMAN
    assert "not below the 150 meals auto-approval limit" in decision.reasons[0]


def test_shadow_mode_records_the_would_be_route_and_sends_everything_to_a_human() -> None:
    shadow = with_clauses(shadow_mode=True)
    approved = route_expense(shadow, facts(), APPROVE)
    assert (approved.route, approved.would_be) == (Route.HUMAN, Route.AUTO_APPROVE)
    assert approved.steps
    rejected = route_expense(shadow, facts(merchant="casino"), APPROVE)
    assert (rejected.route, rejected.would_be) == (Route.HUMAN, Route.AUTO_REJECT)
    assert route_expense(POLICY, facts(), APPROVE).would_be is None


def test_a_flagging_entry_does_not_reject_even_beside_the_llm_saying_reject() -> None:
    policy = with_clauses(forbidden_merchants=(Forbidden("rail", RuleAction.FLAG),))
    reject = LlmAdvice(Recommendation.REJECT, 1.0, ("no",), "m")
    assert route_expense(policy, facts(), reject).route is Route.HUMAN
