"""Hard policy rules. Each rule reads the expense facts and returns a pass/fail with a reason."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from app.domain.policy import Policy


@dataclass(frozen=True, slots=True)
class ExpenseFacts:
    amount: Decimal
    currency: str
    category: str
    # A receipt the policy counts: an upload, or an https link on an allowed host.
    has_receipt: bool
    # A link that was given but does not count, to say so in the rule trace.
    uncounted_receipt_link: bool = False


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str
    # The expense's figure the rule compared, and what it was compared against, as text.
    figure: str | None = None
    limit: str | None = None

    def as_dict(self) -> dict[str, str | bool | None]:
        return {
            "rule": self.rule,
            "passed": self.passed,
            "detail": self.detail,
            "figure": self.figure,
            "limit": self.limit,
        }


Rule = Callable[[Policy, ExpenseFacts, Decimal | None], RuleResult]


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def currency_convertible(policy: Policy, facts: ExpenseFacts, amount: Decimal | None) -> RuleResult:
    name = "currency_convertible"
    if amount is None:
        detail = f"no {facts.currency}->{policy.currency} rate in policy"
        return RuleResult(name, False, detail, facts.currency)
    return RuleResult(name, True, f"{amount} {policy.currency}", facts.currency)


def category_allowed(policy: Policy, facts: ExpenseFacts, amount: Decimal | None) -> RuleResult:
    allowed = facts.category in policy.allowed_categories
    detail = "allowed" if allowed else f"category {facts.category!r} is not in the allow-list"
    return RuleResult("category_allowed", allowed, detail, facts.category)


def category_limit(policy: Policy, facts: ExpenseFacts, amount: Decimal | None) -> RuleResult:
    limit = policy.category_limits.get(facts.category)
    if limit is None:
        return RuleResult("category_limit", True, "no limit for this category", _text(amount))
    if amount is None:
        return RuleResult(
            "category_limit", False, "amount unknown in policy currency", None, str(limit)
        )
    ok = amount <= limit
    relation = "within" if ok else "over"
    detail = f"{amount} is {relation} the {limit} limit"
    return RuleResult("category_limit", ok, detail, str(amount), str(limit))


def receipt_present(policy: Policy, facts: ExpenseFacts, amount: Decimal | None) -> RuleResult:
    threshold = policy.receipt_required_from
    figure, limit = _text(amount), _text(threshold)
    if threshold is None or facts.has_receipt:
        detail = "receipt attached or not required"
        return RuleResult("receipt_present", True, detail, figure, limit)
    if amount is not None and amount < threshold:
        detail = f"below the {threshold} receipt threshold"
        return RuleResult("receipt_present", True, detail, figure, limit)
    detail = f"a receipt is required from {threshold}"
    if facts.uncounted_receipt_link:
        detail += "; the link given is not https on an allowed receipt host"
    return RuleResult("receipt_present", False, detail, figure, limit)


RULES: tuple[Rule, ...] = (currency_convertible, category_allowed, category_limit, receipt_present)


def evaluate_rules(policy: Policy, facts: ExpenseFacts) -> tuple[RuleResult, ...]:
    amount = policy.to_policy_currency(facts.amount, facts.currency)
    return tuple(rule(policy, facts, amount) for rule in RULES)
