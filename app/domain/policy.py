"""The expense policy: limits and allow-lists, parsed from a plain mapping."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.domain.errors import PolicyError
from app.domain.money import normalize_currency


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
    # Slack channel that receives the audit log's head hash once a day; None: no daily post.
    audit_witness_channel: str | None = None

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


def parse_policy(raw: Mapping[str, Any]) -> Policy:
    try:
        version = str(raw["version"])
        currency = normalize_currency(str(raw["currency"]))
        categories = raw["allowed_categories"]
    except KeyError as exc:
        raise PolicyError(f"policy is missing {exc.args[0]!r}") from exc
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise PolicyError("policy 'allowed_categories' must be a list of strings")
    confidence = float(raw.get("min_llm_confidence", 0.95))
    if not 0.0 <= confidence <= 1.0:
        raise PolicyError("policy 'min_llm_confidence' must be between 0 and 1")
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
        allowed_categories=frozenset(c.strip().lower() for c in categories),
        receipt_required_from=receipt,
        category_limits=_decimal_map(raw, "category_limits", keys_are_currencies=False),
        fx_rates=_decimal_map(raw, "fx_rates", keys_are_currencies=True),
        audit_witness_channel=witness.strip() if witness else None,
    )
