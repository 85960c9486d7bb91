"""The policy as numbered clauses for the LLM reviewer to judge by and cite."""

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.policy import Policy
from app.domain.rules import RuleResult


@dataclass(frozen=True, slots=True)
class Clause:
    id: str
    text: str


def policy_clauses(policy: Policy, category: str) -> tuple[Clause, ...]:
    """The limits, the rules of the expense's category, and what the policy forbids."""
    cur = policy.currency
    limits = (
        f"Auto-approval only below {policy.auto_approve_below} {cur}; finance must also "
        f"approve from {policy.finance_required_from} {cur}; no claim above "
        f"{policy.max_amount} {cur} or older than {policy.max_claim_age_days} days."
    )
    if policy.receipt_required_from is not None:
        limits += f" A receipt is required from {policy.receipt_required_from} {cur}."
    # The category is the claimant's text: only a name the policy itself lists is repeated here.
    if category in policy.allowed_categories:
        limit = policy.category_limits.get(category)
        rules = f"Category {category}: allowed, " + (
            f"at most {limit} {cur} per claim." if limit is not None else "with no own limit."
        )
        auto = policy.clauses.auto_approve_below_by_category.get(category)
        if auto is not None:
            rules += f" Auto-approval in this category only below {auto} {cur}."
        cap = policy.clauses.monthly_caps.get(category)
        if cap is not None:
            rules += f" At most {cap} {cur} per employee per month."
    else:
        rules = "The claim's category is not an allowed category."
    allowed = ", ".join(sorted(policy.allowed_categories))
    converted = ", ".join(sorted(policy.fx_rates)) or "none"
    forbidden = (
        f"Forbidden: any category other than {allowed}; personal, duplicate or fraudulent "
        f"claims; currencies other than {cur} and those with a policy rate ({converted})."
    )
    # The policy's own lists (its text, not the claimant's).
    merchants = ", ".join(f.match for f in policy.clauses.forbidden_merchants)
    words = ", ".join(f.match for f in policy.clauses.forbidden_keywords)
    if merchants:
        forbidden += f" Forbidden merchants: {merchants}."
    if words:
        forbidden += f" Forbidden words: {words}."
    return (
        Clause("limits", limits),
        Clause("category", rules),
        Clause("forbidden", forbidden),
    )


def clauses_text(clauses: Sequence[Clause]) -> str:
    return "\n".join(f"[{c.id}] {c.text}" for c in clauses)


def rule_trace_text(trace: Sequence[RuleResult]) -> str:
    """Each rule's outcome and limit; details may quote the claimant, so they stay out."""
    return "\n".join(
        f"- {r.rule}: {'passed' if r.passed else 'FAILED'}"
        + (f" (limit {r.limit})" if r.limit is not None else "")
        for r in trace
    )
