"""What the LLM reviewer may say: advice, or the reason it gave none."""

from dataclasses import dataclass
from enum import StrEnum


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
