"""The gate: auto-approval only inside every limit, and the LLM can never push past a hard rule."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.advice import (
    Advice,
    ConfidenceMethod,
    LlmAdvice,
    LlmUnavailable,
    Recommendation,
)
from app.domain.confidence import TokenLogprob, judged_confidence, recommendation_probability
from app.domain.gate import Route, route_expense
from app.domain.policy import Policy
from app.domain.roles import Role
from app.domain.rules import ExpenseFacts
from app.policy_loader import load_policy
from app.settings import DEFAULT_POLICY_FILE

POLICY = load_policy(DEFAULT_POLICY_FILE)


def facts(
    amount: str, category: str = "travel", currency: str = "USD", receipt: bool = True
) -> ExpenseFacts:
    return ExpenseFacts(Decimal(amount), currency, category, receipt)


APPROVE = Recommendation.APPROVE


def approve(confidence: float = 0.99) -> LlmAdvice:
    return LlmAdvice(Recommendation.APPROVE, confidence, ("fine",), "m")


def test_routine_expense_is_auto_approved() -> None:
    decision = route_expense(POLICY, facts("120.00"), approve())
    assert decision.route is Route.AUTO_APPROVE
    assert decision.reasons == ()
    assert decision.steps == ()


@pytest.mark.parametrize(
    ("expense", "advice", "reason"),
    [
        (facts("1000.00"), approve(), "auto-approval limit"),
        (facts("120.00"), approve(0.94), "confidence 0.94"),
        (facts("120.00"), LlmAdvice(Recommendation.NEEDS_REVIEW, 0.99, (), "m"), "needs_review"),
        (facts("120.00"), LlmUnavailable("LLM timed out"), "LLM unavailable: LLM timed out"),
        (facts("120.00", category="yachts"), approve(), "category_allowed"),
        (facts("300.00", category="meals"), approve(), "category_limit"),
        (facts("120.00", receipt=False), approve(), "receipt_present"),
        (facts("120.00", currency="CHF"), approve(), "currency_convertible"),
    ],
)
def test_anything_outside_policy_goes_to_a_human(
    expense: ExpenseFacts, advice: Advice, reason: str
) -> None:
    decision = route_expense(POLICY, expense, advice)
    assert decision.route is Route.HUMAN
    assert any(reason in r for r in decision.reasons), decision.reasons


def test_finance_step_from_threshold_and_for_unconvertible_amounts() -> None:
    assert route_expense(POLICY, facts("9999.99"), approve()).steps == (Role.APPROVER,)
    assert route_expense(POLICY, facts("10000.00"), approve()).steps == (
        Role.APPROVER,
        Role.FINANCE,
    )
    assert route_expense(POLICY, facts("5", currency="CHF"), approve()).steps == (
        Role.APPROVER,
        Role.FINANCE,
    )


def test_foreign_currency_is_converted_with_policy_rate() -> None:
    decision = route_expense(POLICY, facts("10000.00", currency="EUR"), approve())
    assert decision.amount_in_policy_currency == Decimal("10800.00")
    assert Role.FINANCE in decision.steps


advices = st.one_of(
    st.builds(
        LlmAdvice,
        st.sampled_from(Recommendation),
        st.floats(0, 1),
        st.tuples(st.text(max_size=20)),
        st.just("m"),
    ),
    st.builds(LlmUnavailable, st.text(max_size=20)),
)


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2),
    category=st.sampled_from(["travel", "meals", "yachts", "software", "office_supplies"]),
    currency=st.sampled_from(["USD", "EUR", "CHF", "JPY"]),
    receipt=st.booleans(),
    advice=advices,
)
def test_llm_never_pushes_past_a_hard_rule(
    amount: Decimal, category: str, currency: str, receipt: bool, advice: Advice
) -> None:
    policy: Policy = POLICY
    expense = ExpenseFacts(amount, currency, category, receipt)
    decision = route_expense(policy, expense, advice)
    converted = policy.to_policy_currency(amount, currency)
    if decision.route is Route.AUTO_APPROVE:
        assert all(r.passed for r in decision.rule_trace)
        assert converted is not None
        assert converted < policy.auto_approve_below
        assert isinstance(advice, LlmAdvice)
        assert advice.recommendation is Recommendation.APPROVE
        assert advice.confidence >= policy.min_llm_confidence
    else:
        assert decision.steps[0] is Role.APPROVER
    if converted is None or converted >= policy.finance_required_from:
        assert decision.route is Route.HUMAN
        assert Role.FINANCE in decision.steps


@st.composite
def llm_answers(draw: st.DrawFn) -> LlmAdvice:
    """Whatever a model may answer: any numbers, reasons and token log-probabilities."""
    recommendation = draw(st.one_of(st.sampled_from(Recommendation), st.just(APPROVE)))
    stated = draw(st.one_of(st.floats(0, 1), st.floats(0.95, 1)))
    reasons = draw(st.lists(st.text(max_size=30), max_size=3))
    content = json.dumps(
        {"recommendation": recommendation.value, "confidence": stated, "reasons": reasons}
    )
    # Split the answer anywhere; each piece gets any log-probability a server might send.
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(content) - 1)), max_size=12)))
    pieces = [content[a:b] for a, b in zip([0, *cuts], [*cuts, len(content)], strict=True)]
    logprobs = draw(st.lists(st.floats(max_value=0.5), min_size=len(pieces), max_size=len(pieces)))
    tokens = [TokenLogprob(p, lp) for p, lp in zip(pieces, logprobs, strict=True)]
    measured = recommendation_probability(content, tokens) if draw(st.booleans()) else None
    factor = draw(st.one_of(st.floats(0, 1), st.just(1.0)))
    confidence, method = judged_confidence(stated, measured, factor)
    return LlmAdvice(recommendation, confidence, tuple(reasons), "m", method, stated)


@settings(max_examples=500)
@given(
    # Amounts around the auto-approval limit, where a wrong comparison would show.
    amount=st.one_of(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2),
        st.decimals(min_value=Decimal("900"), max_value=Decimal("1100"), places=2),
    ),
    category=st.sampled_from(["travel", "meals", "yachts", "software", "office_supplies"]),
    currency=st.sampled_from(["USD", "EUR", "CHF", "JPY"]),
    receipt=st.booleans(),
    advice=llm_answers(),
)
def test_no_llm_answer_auto_approves_over_a_limit_or_a_rule(
    amount: Decimal, category: str, currency: str, receipt: bool, advice: LlmAdvice
) -> None:
    expense = ExpenseFacts(amount, currency, category, receipt)
    decision = route_expense(POLICY, expense, advice)
    converted = POLICY.to_policy_currency(amount, currency)
    over_limit = converted is None or converted >= POLICY.auto_approve_below
    if over_limit or not all(r.passed for r in decision.rule_trace):
        assert decision.route is Route.HUMAN
    if decision.route is Route.AUTO_APPROVE:
        # The threshold held for the confidence the gate was given: measured, or discounted.
        assert advice.confidence >= POLICY.min_llm_confidence
        if advice.confidence_method is ConfidenceMethod.SELF_REPORTED:
            assert advice.stated_confidence is not None
            assert advice.stated_confidence >= advice.confidence


def test_a_confident_claim_without_logprobs_is_discounted_below_the_threshold() -> None:
    confidence, method = judged_confidence(0.99, None, POLICY.self_reported_confidence_factor)
    advice = LlmAdvice(Recommendation.APPROVE, confidence, ("fine",), "m", method, 0.99)
    decision = route_expense(POLICY, facts("120.00"), advice)
    assert decision.route is Route.HUMAN
    assert any("(self_reported) is below 0.95" in r for r in decision.reasons), decision.reasons


def test_policy_file_is_reloaded_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    text = DEFAULT_POLICY_FILE.read_text()
    path.write_text(text)
    assert load_policy(path).version == POLICY.version
    path.write_text(text.replace(POLICY.version, "v-next").replace('"1000"', '"2000"'))
    import os

    os.utime(path, (1, 1))
    reloaded = load_policy(path)
    assert reloaded.version == "v-next"
    assert reloaded.auto_approve_below == Decimal("2000")
