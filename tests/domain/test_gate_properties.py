"""Property tests: whatever the LLM answers, the policy's limits and marked rules hold."""

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.advice import Advice, LlmAdvice, LlmUnavailable, Recommendation
from app.domain.gate import Route, route_expense
from app.domain.history import History
from app.domain.policy import Policy
from app.domain.policy_clauses import Forbidden, RuleAction
from app.domain.rules import ExpenseFacts
from app.policy_loader import load_policy
from app.settings import DEFAULT_POLICY_FILE

SHIPPED = load_policy(DEFAULT_POLICY_FILE)
CATEGORIES = ["travel", "meals", "software", "training", "yachts"]
WORDS = ["casino", "gift card", "bar", "duty free", "rail", "hotel"]
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20000"), places=2)
actions = st.sampled_from(RuleAction)
forbidden = st.lists(st.builds(Forbidden, st.sampled_from(WORDS), actions), max_size=3)

advices = st.one_of(
    st.builds(
        LlmAdvice,
        st.sampled_from(Recommendation),
        st.floats(0, 1),
        st.lists(st.text(max_size=30), max_size=3).map(tuple),
        st.text(max_size=10),
    ),
    st.builds(LlmUnavailable, st.text(max_size=20)),
)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    limit = draw(money)
    own = draw(st.dictionaries(st.sampled_from(CATEGORIES), money.filter(lambda m: m <= limit)))
    clauses = replace(
        SHIPPED.clauses,
        forbidden_merchants=tuple(draw(forbidden)),
        forbidden_keywords=tuple(draw(forbidden)),
        duplicate_action=draw(actions),
        monthly_caps=draw(st.dictionaries(st.sampled_from(CATEGORIES), money)),
        flag_weekends=draw(st.booleans()),
        auto_approve_below_by_category=own,
        shadow_mode=draw(st.booleans()),
    )
    return replace(
        SHIPPED,
        auto_approve_below=limit,
        min_llm_confidence=draw(st.floats(0, 1)),
        clauses=clauses,
    )


@st.composite
def expenses(draw: st.DrawFn) -> ExpenseFacts:
    ids = st.lists(st.uuids().map(str), max_size=2).map(tuple)
    history = History(draw(ids), draw(ids), draw(st.one_of(st.none(), money)))
    return ExpenseFacts(
        amount=draw(money),
        currency=draw(st.sampled_from(["USD", "EUR", "CHF"])),
        category=draw(st.sampled_from(CATEGORIES)),
        has_receipt=draw(st.booleans()),
        merchant=draw(st.sampled_from(WORDS).map(str.title) | st.text(max_size=20)),
        description=draw(st.text(max_size=40) | st.sampled_from(WORDS)),
        incurred_on=draw(st.dates(date(2026, 1, 1), date(2026, 12, 31))),
        history=history,
    )


def matched(policy: Policy, facts: ExpenseFacts) -> list[Forbidden]:
    """The entries an expense hits, found here without the rules' code."""
    merchant = facts.merchant.casefold()
    text = f"{facts.merchant}\n{facts.description}".casefold()
    hits = [f for f in policy.clauses.forbidden_merchants if f.match in merchant]
    for entry in policy.clauses.forbidden_keywords:
        if re.search(rf"(?<!\w){re.escape(entry.match)}(?!\w)", text):
            hits.append(entry)
    return hits


@settings(max_examples=200)
@given(policy=policies(), facts=expenses(), advice=advices)
def test_nothing_at_a_limit_broken_duplicated_or_in_shadow_mode_is_auto_approved(
    policy: Policy, facts: ExpenseFacts, advice: Advice
) -> None:
    decision = route_expense(policy, facts, advice)
    if decision.route is not Route.AUTO_APPROVE:
        return
    amount = policy.to_policy_currency(facts.amount, facts.currency)
    assert amount is not None
    assert amount < policy.auto_approve_below
    own = policy.clauses.auto_approve_below_by_category.get(facts.category)
    assert own is None or amount < own
    assert all(r.passed for r in decision.rule_trace)
    assert not facts.history.duplicates
    assert not facts.history.same_receipt
    assert not matched(policy, facts)
    assert not policy.clauses.shadow_mode
    assert isinstance(advice, LlmAdvice)
    assert advice.recommendation is Recommendation.APPROVE
    assert advice.confidence >= policy.min_llm_confidence


@settings(max_examples=200)
@given(policy=policies(), facts=expenses(), advice=advices)
def test_auto_reject_comes_only_from_a_rule_marked_reject(
    policy: Policy, facts: ExpenseFacts, advice: Advice
) -> None:
    decision = route_expense(policy, facts, advice)
    rejecting_entry = any(f.action is RuleAction.REJECT for f in matched(policy, facts))
    rejecting_duplicate = policy.clauses.duplicate_action is RuleAction.REJECT and bool(
        facts.history.duplicates or facts.history.same_receipt
    )
    marked = rejecting_entry or rejecting_duplicate
    if policy.clauses.shadow_mode:
        assert decision.route is Route.HUMAN
        assert (decision.would_be is Route.AUTO_REJECT) == marked
    else:
        assert (decision.route is Route.AUTO_REJECT) == marked
    if decision.route is Route.AUTO_REJECT:
        assert any(r.auto_rejects for r in decision.rule_trace)
        assert decision.steps == ()
