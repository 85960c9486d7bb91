"""What the LLM reviewer may say: advice, or the reason it gave none."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Recommendation(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True, slots=True)
class LlmAdvice:
    recommendation: Recommendation
    confidence: float
    reasons: tuple[str, ...]
    model: str


@dataclass(frozen=True, slots=True)
class LlmUnavailable:
    """The reviewer gave no usable advice: disabled, timed out, errored, refused or malformed."""

    reason: str
    model: str | None = None


Advice = LlmAdvice | LlmUnavailable


def advice_to_record(advice: Advice) -> dict[str, Any]:
    """The stored form of advice: a JSON object with a fixed set of keys."""
    if isinstance(advice, LlmAdvice):
        return {
            "recommendation": advice.recommendation.value,
            "confidence": advice.confidence,
            "reasons": list(advice.reasons),
            "model": advice.model,
        }
    return {"unavailable": advice.reason, "model": advice.model}


def advice_from_record(record: Mapping[str, Any] | None) -> Advice | None:
    """Read stored advice back; None when there is none."""
    if not record:
        return None
    if "unavailable" in record:
        model = record.get("model")
        return LlmUnavailable(str(record["unavailable"]), None if model is None else str(model))
    return LlmAdvice(
        recommendation=Recommendation(record["recommendation"]),
        confidence=float(record["confidence"]),
        reasons=tuple(str(r) for r in record.get("reasons") or ()),
        model=str(record.get("model") or ""),
    )
