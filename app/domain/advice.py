"""What the LLM reviewer may say: advice, or the reason it gave none."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Recommendation(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    NEEDS_REVIEW = "needs_review"


class ConfidenceMethod(StrEnum):
    """How `LlmAdvice.confidence` was obtained."""

    # The probability the model's tokens put on its recommendation (server logprobs).
    LOGPROBS = "logprobs"
    # The number the model wrote, discounted by the policy's factor.
    SELF_REPORTED = "self_reported"


@dataclass(frozen=True, slots=True)
class LlmAdvice:
    recommendation: Recommendation
    # What the gate compares with the policy's threshold (see `confidence_method`).
    confidence: float
    reasons: tuple[str, ...]
    model: str
    confidence_method: ConfidenceMethod = ConfidenceMethod.SELF_REPORTED
    # The number the model wrote, whatever the method.
    stated_confidence: float | None = None
    # A hash of the prompt template, so a change of prompt shows in the record.
    prompt_version: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None


@dataclass(frozen=True, slots=True)
class LlmUnavailable:
    """The reviewer gave no usable advice: disabled, timed out, errored, refused or malformed."""

    reason: str
    model: str | None = None


Advice = LlmAdvice | LlmUnavailable
# The keys of the review's own record (beyond recommendation, confidence, reasons and model).
_REVIEW_KEYS = (
    "stated_confidence",
    "prompt_version",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
)


def review_record(advice: LlmAdvice) -> dict[str, Any]:
    """How the review was made: confidence method, prompt version, token usage, latency."""
    record: dict[str, Any] = {"confidence_method": advice.confidence_method.value}
    record.update((key, getattr(advice, key)) for key in _REVIEW_KEYS)
    return record


def advice_to_record(advice: Advice) -> dict[str, Any]:
    """The stored form of advice: a JSON object with a fixed set of keys."""
    if isinstance(advice, LlmAdvice):
        return {
            "recommendation": advice.recommendation.value,
            "confidence": advice.confidence,
            "reasons": list(advice.reasons),
            "model": advice.model,
            **review_record(advice),
        }
    return {"unavailable": advice.reason, "model": advice.model}


def _optional(record: Mapping[str, Any], key: str, kind: type[int] | type[float]) -> Any:
    value = record.get(key)
    return None if value is None else kind(value)


def advice_from_record(record: Mapping[str, Any] | None) -> Advice | None:
    """Read stored advice back; None when there is none. Older records lack the review keys."""
    if not record:
        return None
    if "unavailable" in record:
        model = record.get("model")
        return LlmUnavailable(str(record["unavailable"]), None if model is None else str(model))
    version = record.get("prompt_version")
    return LlmAdvice(
        recommendation=Recommendation(record["recommendation"]),
        confidence=float(record["confidence"]),
        reasons=tuple(str(r) for r in record.get("reasons") or ()),
        model=str(record.get("model") or ""),
        confidence_method=ConfidenceMethod(record.get("confidence_method", "self_reported")),
        stated_confidence=_optional(record, "stated_confidence", float),
        prompt_version=None if version is None else str(version),
        prompt_tokens=_optional(record, "prompt_tokens", int),
        completion_tokens=_optional(record, "completion_tokens", int),
        latency_ms=_optional(record, "latency_ms", int),
    )
