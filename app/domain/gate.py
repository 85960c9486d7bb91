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
    # Only a broken rule the policy marks as auto-rejecting leads here.
    AUTO_REJECT = "auto_reject"
    HUMAN = "human"


@dataclass(frozen=True, slots=True)
class GateDecision:
    route: Route
    reasons: tuple[str, ...]
    steps: tuple[Role, ...]
    rule_trace: tuple[RuleResult, ...]
    amount_in_policy_currency: Decimal | None
    # In shadow mode: the route the policy would have taken, had it been allowed to decide.
    would_be: Route | None = None


def auto_approve_limit(policy: Policy, category: str) -> Decimal:
    """The global limit, or the category's own when it is lower."""
    own = policy.clauses.auto_approve_below_by_category.get(category)
    return policy.auto_approve_below if own is None else min(own, policy.auto_approve_below)


def _human_reasons(
    policy: Policy,
    facts: ExpenseFacts,
    amount: Decimal | None,
    trace: tuple[RuleResult, ...],
    advice: Advice,
) -> list[str]:
    reasons = [f"rule {r.rule}: {r.detail}" for r in trace if not r.passed]
    limit = auto_approve_limit(policy, facts.category)
    if amount is None or amount >= limit:
        own = "" if limit == policy.auto_approve_below else f" {facts.category}"
        reasons.append(f"amount is not below the {limit}{own} auto-approval limit")
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
    rejecting = [f"rule {r.rule}: {r.detail}" for r in trace if r.auto_rejects]
    reasons = rejecting or _human_reasons(policy, facts, amount, trace, advice)
    # An amount we cannot convert might be large, so it gets the finance step too.
    needs_finance = amount is None or amount >= policy.finance_required_from
    steps = (Role.APPROVER, Role.FINANCE) if needs_finance else (Role.APPROVER,)
    route = Route.AUTO_REJECT if rejecting else Route.HUMAN if reasons else Route.AUTO_APPROVE
    if policy.clauses.shadow_mode:
        shadow = f"shadow mode: the policy would have chosen {route.value}"
        return GateDecision(Route.HUMAN, (*reasons, shadow), steps, trace, amount, route)
    return GateDecision(route, tuple(reasons), steps if route is Route.HUMAN else (), trace, amount)
