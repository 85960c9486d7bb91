"""The gate: combines hard rules and LLM advice. The LLM can only advise; rules always win."""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from app.domain.advice import Advice, LlmAdvice, Recommendation
from app.domain.policy import Policy
from app.domain.roles import Role
from app.domain.rules import ExpenseFacts, RuleResult, evaluate_rules


class Route(StrEnum):
    AUTO_APPROVE = "auto_approve"
    HUMAN = "human"


@dataclass(frozen=True, slots=True)
class GateDecision:
    route: Route
    reasons: tuple[str, ...]
    steps: tuple[Role, ...]
    rule_trace: tuple[RuleResult, ...]
    amount_in_policy_currency: Decimal | None


def _human_reasons(
    policy: Policy, amount: Decimal | None, trace: tuple[RuleResult, ...], advice: Advice
) -> list[str]:
    reasons = [f"rule {r.rule}: {r.detail}" for r in trace if not r.passed]
    if amount is None or amount >= policy.auto_approve_below:
        reasons.append(f"amount is not below the {policy.auto_approve_below} auto-approval limit")
    if amount is not None and amount >= policy.finance_required_from:
        reasons.append(f"amount reaches {policy.finance_required_from}: finance approval required")
    if not isinstance(advice, LlmAdvice):
        reasons.append(f"LLM unavailable: {advice.reason}")
    elif advice.recommendation is not Recommendation.APPROVE:
        reasons.append(f"LLM recommends {advice.recommendation.value}")
    elif advice.confidence < policy.min_llm_confidence:
        reasons.append(
            f"LLM confidence {advice.confidence:.2f} ({advice.confidence_method.value}) "
            f"is below {policy.min_llm_confidence:.2f}"
        )
    return reasons


def route_expense(policy: Policy, facts: ExpenseFacts, advice: Advice) -> GateDecision:
    trace = evaluate_rules(policy, facts)
    amount = policy.to_policy_currency(facts.amount, facts.currency)
    reasons = _human_reasons(policy, amount, trace, advice)
    # An amount we cannot convert might be large, so it gets the finance step too.
    needs_finance = amount is None or amount >= policy.finance_required_from
    steps = (Role.APPROVER, Role.FINANCE) if needs_finance else (Role.APPROVER,)
    route = Route.HUMAN if reasons else Route.AUTO_APPROVE
    return GateDecision(route, tuple(reasons), steps if reasons else (), trace, amount)
