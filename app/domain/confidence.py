"""Measured confidence: the probability the model's own tokens put on its recommendation."""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.advice import ConfidenceMethod

# The answer is JSON; a string value cannot hold an unescaped quote, so this matches keys only.
_RECOMMENDATION = re.compile(r'"recommendation"\s*:\s*"(approve|reject|needs_review)"')


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    token: str
    logprob: float


def recommendation_probability(content: str, tokens: Sequence[TokenLogprob]) -> float | None:
    """exp(sum of the log-probabilities of the tokens that spell the recommendation's value).

    None when that cannot be measured: no token list, tokens that do not spell the content
    (a server that merges or drops them), or not exactly one recommendation in the answer.
    """
    matches = list(_RECOMMENDATION.finditer(content))
    if len(matches) != 1 or "".join(t.token for t in tokens) != content:
        return None
    start, end = matches[0].span(1)
    total, position = 0.0, 0
    for token in tokens:
        token_start, position = position, position + len(token.token)
        if token_start < end and position > start:
            total += token.logprob
    if math.isnan(total):
        return None
    # A server's rounding can give a log-probability a hair above 0; a probability is at most 1.
    return math.exp(min(total, 0.0))


def judged_confidence(
    stated: float, measured: float | None, self_reported_factor: float
) -> tuple[float, ConfidenceMethod]:
    """The confidence the gate compares: measured when there is one, else the discounted claim."""
    if measured is not None:
        return measured, ConfidenceMethod.LOGPROBS
    return stated * self_reported_factor, ConfidenceMethod.SELF_REPORTED
