"""The expense policy: limits and allow-lists, parsed from a plain mapping."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.domain.errors import InvalidMoney, PolicyError
from app.domain.money import normalize_currency
from app.domain.policy_clauses import InvalidPolicy, PolicyClauses, Problem, parse_clauses
from app.domain.routing import RoutingPolicy, parse_routing
from app.domain.timers import TimerPolicy, parse_timers

# Stored in columns of these sizes with every decision.
VERSION_MAX_LENGTH = 64
CATEGORY_MAX_LENGTH = 64
DEFAULT_MAX_AMOUNT = Decimal("100000")
DEFAULT_MAX_CLAIM_AGE_DAYS = 365
# Models overstate the confidence they write; without logprobs the gate sees this share of it.
DEFAULT_SELF_REPORTED_FACTOR = 0.9
DEFAULT_RECEIPT_MAX_BYTES = 10 * 1024 * 1024
HOST_PATTERN = re.compile(r"(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+")


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    currency: str
    auto_approve_below: Decimal
    min_llm_confidence: float
    finance_required_from: Decimal
    allowed_categories: frozenset[str]
    receipt_required_from: Decimal | None = None
    category_limits: Mapping[str, Decimal] = field(default_factory=dict)
    fx_rates: Mapping[str, Decimal] = field(default_factory=dict)
    # Intake refuses claims above this (in the policy currency) or older than this many days.
    max_amount: Decimal = DEFAULT_MAX_AMOUNT
    max_claim_age_days: int = DEFAULT_MAX_CLAIM_AGE_DAYS
    # Hosts whose https links count as a receipt ("files.corp.example", "*.corp.example").
    receipt_hosts: frozenset[str] = frozenset()
    # The largest receipt file an upload may carry.
    receipt_max_bytes: int = DEFAULT_RECEIPT_MAX_BYTES
    # Whether a submitter sees the model's reasons, or only its recommendation.
    show_ai_reasons_to_submitter: bool = False
    routing: RoutingPolicy = RoutingPolicy()
    # Slack channel that receives the audit log's head hash once a day; None: no daily post.
    audit_witness_channel: str | None = None
    # Reminders, escalations and expiry of open steps, and the calendar they count in.
    timers: TimerPolicy = TimerPolicy()
    # Forbidden merchants and words, duplicates, monthly caps, calendar, shadow mode.
    clauses: PolicyClauses = PolicyClauses()
    self_reported_confidence_factor: float = DEFAULT_SELF_REPORTED_FACTOR
    # The file's exact text and the SHA-256 of its bytes, when it was read from a file: every
    # decision names them, and the text is kept so auditors can read the rules that applied.
    source_text: str | None = field(default=None, repr=False, compare=False)
    source_sha256: str | None = field(default=None, compare=False)

    def fx_rate(self, currency: str) -> Decimal | None:
        """1 unit of `currency` in the policy currency, or None when the policy has no rate."""
        return Decimal(1) if currency == self.currency else self.fx_rates.get(currency)

    def to_policy_currency(self, amount: Decimal, currency: str) -> Decimal | None:
        """The amount in the policy currency, or None when there is no rate for `currency`."""
        if currency == self.currency:
            return amount
        rate = self.fx_rate(currency)
        return None if rate is None else (amount * rate).quantize(Decimal("0.01"))


def _decimal(raw: Mapping[str, Any], key: str) -> Decimal:
    try:
        value = Decimal(str(raw[key]))
    except KeyError as exc:
        raise PolicyError(f"policy is missing {key!r}") from exc
    except InvalidOperation as exc:
        raise PolicyError(f"policy {key!r} is not a decimal") from exc
    if not value.is_finite() or value < 0:
        raise PolicyError(f"policy {key!r} must be a non-negative number")
    return value


def _decimal_map(
    raw: Mapping[str, Any], key: str, *, keys_are_currencies: bool
) -> dict[str, Decimal]:
    table = raw.get(key, {})
    if not isinstance(table, Mapping):
        raise PolicyError(f"policy {key!r} must be a table")
    out: dict[str, Decimal] = {}
    for name in table:
        label = normalize_currency(name) if keys_are_currencies else str(name)
        out[label] = _decimal(table, name)
    return out


def _strings(raw: Mapping[str, Any], key: str) -> list[str]:
    values = raw.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"policy {key!r} must be a list of strings")
    return [v.strip().lower() for v in values]


def _receipt_hosts(raw: Mapping[str, Any]) -> frozenset[str]:
    hosts = _strings(raw, "receipt_hosts")
    for host in hosts:
        if not HOST_PATTERN.fullmatch(host):
            raise PolicyError(f"policy 'receipt_hosts': {host!r} is not a host name or *.domain")
    return frozenset(hosts)


def _positive_int(raw: Mapping[str, Any], key: str, default: int) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise PolicyError(f"policy {key!r} must be a whole number of at least 1")
    return value


def _fraction(raw: Mapping[str, Any], key: str, default: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise PolicyError(f"policy {key!r} must be a number between 0 and 1")
    return float(value)


def parse_policy(raw: Mapping[str, Any]) -> Policy:
    try:
        version = str(raw["version"])
        currency = normalize_currency(str(raw["currency"]))
    except KeyError as exc:
        raise PolicyError(f"policy is missing {exc.args[0]!r}") from exc
    except InvalidMoney as exc:
        raise PolicyError(f"policy 'currency': {exc}") from exc
    if not 0 < len(version) <= VERSION_MAX_LENGTH:
        raise PolicyError(f"policy 'version' must be 1 to {VERSION_MAX_LENGTH} characters")
    if "allowed_categories" not in raw:
        raise PolicyError("policy is missing 'allowed_categories'")
    categories = _strings(raw, "allowed_categories")
    if any(not 0 < len(c) <= CATEGORY_MAX_LENGTH for c in categories):
        raise PolicyError(f"policy categories must be 1 to {CATEGORY_MAX_LENGTH} characters")
    show_reasons = raw.get("show_ai_reasons_to_submitter", False)
    if not isinstance(show_reasons, bool):
        raise PolicyError("policy 'show_ai_reasons_to_submitter' must be true or false")
    confidence = _fraction(raw, "min_llm_confidence", 0.95)
    factor = _fraction(raw, "self_reported_confidence_factor", DEFAULT_SELF_REPORTED_FACTOR)
    receipt = _decimal(raw, "receipt_required_from") if "receipt_required_from" in raw else None
    witness = raw.get("audit_witness_channel")
    if witness is not None and (not isinstance(witness, str) or not witness.strip()):
        raise PolicyError("policy 'audit_witness_channel' must be a Slack channel id")
    return Policy(
        version=version,
        currency=currency,
        auto_approve_below=_decimal(raw, "auto_approve_below"),
        min_llm_confidence=confidence,
        finance_required_from=_decimal(raw, "finance_required_from"),
        allowed_categories=frozenset(categories),
        receipt_required_from=receipt,
        category_limits=_decimal_map(raw, "category_limits", keys_are_currencies=False),
        fx_rates=_decimal_map(raw, "fx_rates", keys_are_currencies=True),
        max_amount=_decimal(raw, "max_amount") if "max_amount" in raw else DEFAULT_MAX_AMOUNT,
        max_claim_age_days=_positive_int(raw, "max_claim_age_days", DEFAULT_MAX_CLAIM_AGE_DAYS),
        receipt_hosts=_receipt_hosts(raw),
        receipt_max_bytes=_positive_int(raw, "receipt_max_bytes", DEFAULT_RECEIPT_MAX_BYTES),
        show_ai_reasons_to_submitter=show_reasons,
        audit_witness_channel=witness.strip() if witness else None,
        routing=parse_routing(raw),
        timers=parse_timers(raw, frozenset(categories)),
        clauses=parse_clauses(raw),
        self_reported_confidence_factor=factor,
    )


_NAMED = re.compile(r"policy (?:is missing )?'([\w.]+)'")


def policy_problems(raw: Mapping[str, Any]) -> list[Problem]:
    """Every problem in the clauses, and the first one in the rest of the policy; [] if valid."""
    problems: list[Problem] = []
    try:
        parse_clauses(raw)
    except InvalidPolicy as exc:
        problems.extend(exc.problems)
    try:
        parse_policy(raw)
    except InvalidPolicy:
        pass  # listed above
    except PolicyError as exc:
        named = _NAMED.search(str(exc))
        problems.insert(0, Problem(named.group(1) if named else "policy", str(exc)))
    return problems
