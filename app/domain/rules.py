"""Hard policy rules. Each rule reads the expense facts and returns a pass/fail with a reason."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain.history import History
from app.domain.policy import Policy
from app.domain.policy_clauses import Forbidden, RuleAction
from app.domain.receipt_check import Claim, ReceiptReading, ReceiptUnread, mismatches


@dataclass(frozen=True, slots=True)
class ExpenseFacts:
    amount: Decimal
    currency: str
    category: str
    # A receipt the policy counts: an upload, or an https link on an allowed host.
    has_receipt: bool
    # A link that was given but does not count, to say so in the rule trace.
    uncounted_receipt_link: bool = False
    merchant: str = ""
    description: str = ""
    incurred_on: date | None = None
    # Read from the database by the caller; the rules stay pure.
    history: History = field(default_factory=History)
    # What a vision model read off the uploaded receipt, or why it was not read; None: no upload.
    receipt_reading: ReceiptReading | ReceiptUnread | None = None


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str
    # The expense's figure the rule compared, and what it was compared against, as text.
    figure: str | None = None
    limit: str | None = None
    # Set on a broken rule the policy marks as auto-rejecting; any other broken rule flags.
    action: RuleAction | None = None

    @property
    def auto_rejects(self) -> bool:
        return not self.passed and self.action is RuleAction.REJECT

    def as_dict(self) -> dict[str, str | bool | None]:
        out: dict[str, str | bool | None] = {
            "rule": self.rule,
            "passed": self.passed,
            "detail": self.detail,
            "figure": self.figure,
            "limit": self.limit,
        }
        if self.action is not None:
            out["action"] = self.action.value
        return out

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> "RuleResult":
        """Read a stored trace entry back (the inverse of as_dict)."""

        def text(key: str) -> str | None:
            value = record.get(key)
            return None if value is None else str(value)

        action = record.get("action")
        return cls(
            str(record["rule"]),
            bool(record["passed"]),
            str(record.get("detail", "")),
            text("figure"),
            text("limit"),
            None if action is None else RuleAction(action),
        )


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


def _forbidden(name: str, hits: list[Forbidden], what: str) -> RuleResult:
    if not hits:
        return RuleResult(name, True, f"no forbidden {what}")
    rejects = any(hit.action is RuleAction.REJECT for hit in hits)
    matched = ", ".join(hit.match for hit in hits)
    action = RuleAction.REJECT if rejects else RuleAction.FLAG
    return RuleResult(name, False, f"forbidden {what}: {matched}", matched, None, action)


def forbidden_merchant(policy: Policy, facts: ExpenseFacts, amount: Decimal | None) -> RuleResult:
    merchant = facts.merchant.casefold()
    hits = [f for f in policy.clauses.forbidden_merchants if f.match in merchant]
    return _forbidden("forbidden_merchant", hits, "merchant")


def forbidden_keyword(policy: Policy, facts: ExpenseFacts, amount: Decimal | None) -> RuleResult:
    text = f"{facts.merchant}\n{facts.description}".casefold()
    hits = [
        f
        for f in policy.clauses.forbidden_keywords
        if re.search(rf"(?<!\w){re.escape(f.match)}(?!\w)", text)
    ]
    return _forbidden("forbidden_keyword", hits, "word")


def duplicate(policy: Policy, facts: ExpenseFacts, amount: Decimal | None) -> RuleResult:
    history = facts.history
    if not history.duplicates and not history.same_receipt:
        return RuleResult("duplicate", True, "no earlier claim of this expense or receipt")
    days = policy.clauses.duplicate_window_days
    found = []
    if history.duplicates:
        found.append(
            f"same submitter, amount and merchant within {days} days as "
            + ", ".join(history.duplicates)
        )
    if history.same_receipt:
        found.append("same receipt as " + ", ".join(history.same_receipt))
    earlier = ", ".join(dict.fromkeys((*history.duplicates, *history.same_receipt)))
    action = policy.clauses.duplicate_action
    return RuleResult("duplicate", False, "; ".join(found), earlier, f"{days} days", action)


def monthly_cap(policy: Policy, facts: ExpenseFacts, amount: Decimal | None) -> RuleResult:
    cap = policy.clauses.monthly_caps.get(facts.category)
    if cap is None:
        return RuleResult("monthly_cap", True, "no monthly cap for this category")
    spent = facts.history.month_spent
    if amount is None or spent is None:
        detail = "this month's total is unknown in the policy currency"
        return RuleResult("monthly_cap", False, detail, None, str(cap))
    total = spent + amount
    ok = total <= cap
    detail = f"{total} this month with this claim is {'within' if ok else 'over'} the {cap} cap"
    return RuleResult("monthly_cap", ok, detail, str(total), str(cap))


def calendar_day(policy: Policy, facts: ExpenseFacts, amount: Decimal | None) -> RuleResult:
    day, clauses = facts.incurred_on, policy.clauses
    if day is None:
        return RuleResult("weekend_or_holiday", True, "date unknown")
    if day in clauses.holidays:
        return RuleResult("weekend_or_holiday", False, f"{day} is a holiday", str(day))
    if clauses.flag_weekends and day.weekday() >= 5:
        return RuleResult("weekend_or_holiday", False, f"{day} is a weekend day", str(day))
    return RuleResult("weekend_or_holiday", True, "a working day or not flagged", str(day))


def receipt_matches(policy: Policy, facts: ExpenseFacts, amount: Decimal | None) -> RuleResult:
    name, reading = "receipt_matches", facts.receipt_reading
    if reading is None:
        return RuleResult(name, True, "no uploaded receipt to read")
    if isinstance(reading, ReceiptUnread):
        return RuleResult(name, True, f"receipt not read: {reading.reason}")
    claim = Claim(facts.amount, facts.currency, facts.incurred_on, facts.merchant)
    found = mismatches(reading, claim)
    claimed = claim.as_text()
    if not found:
        return RuleResult(name, True, "the receipt matches the claim", reading.as_text(), claimed)
    return RuleResult(name, False, "; ".join(found), reading.as_text(), claimed)


RULES: tuple[Rule, ...] = (
    currency_convertible,
    category_allowed,
    category_limit,
    receipt_present,
    forbidden_merchant,
    forbidden_keyword,
    receipt_matches,
    duplicate,
    monthly_cap,
    calendar_day,
)


def evaluate_rules(policy: Policy, facts: ExpenseFacts) -> tuple[RuleResult, ...]:
    amount = policy.to_policy_currency(facts.amount, facts.currency)
    return tuple(rule(policy, facts, amount) for rule in RULES)
