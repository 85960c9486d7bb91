"""Measured confidence: the probability on the recommendation tokens, else the discounted claim."""

import json
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.advice import (
    ConfidenceMethod,
    LlmAdvice,
    LlmUnavailable,
    advice_from_record,
    advice_to_record,
)
from app.domain.confidence import TokenLogprob, judged_confidence, recommendation_probability
from tests.factories import MEASURED


def tokenized(content: str, logprob_of: dict[str, float]) -> list[TokenLogprob]:
    """Tokens of up to 3 characters; a token's log-probability is looked up by its text."""
    return [TokenLogprob(t, logprob_of.get(t, -0.01)) for t in re.findall(r"\w{1,3}|\W", content)]


# Advice as the reviewer makes it, with everything about how it was made.
ANSWER = json.dumps({"recommendation": "approve", "confidence": 0.99, "reasons": ["[limits] ok"]})


def test_probability_is_the_product_over_the_recommendation_tokens() -> None:
    # "approve" is spelled "app" "rov" "e"; every other token is ignored, however unlikely.
    logprobs = {"app": math.log(0.9), "rov": math.log(0.8), "e": 0.0, "99": math.log(0.01)}
    measured = recommendation_probability(ANSWER, tokenized(ANSWER, logprobs))
    assert measured == pytest.approx(0.72)


def test_a_token_straddling_the_value_counts() -> None:
    tokens = [
        TokenLogprob('{"recommendation": "', -0.5),
        TokenLogprob('approve"', math.log(0.5)),
        TokenLogprob(ANSWER[len('{"recommendation": "approve"') :], -3.0),
    ]
    assert recommendation_probability(ANSWER, tokens) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("content", "tokens"),
    [
        (ANSWER, []),  # no token list
        (ANSWER, [TokenLogprob(ANSWER[:-1], 0.0)]),  # tokens that do not spell the answer
        ('{"confidence": 1, "reasons": []}', None),  # no recommendation
        ('{"recommendation": "approve", "recommendation": "reject"}', None),  # two of them
    ],
)
def test_unmeasurable_answers_give_none(content: str, tokens: list[TokenLogprob] | None) -> None:
    given_tokens = tokenized(content, {}) if tokens is None else tokens
    assert recommendation_probability(content, given_tokens) is None


def test_a_recommendation_quoted_in_a_reason_is_not_counted() -> None:
    content = json.dumps(
        {"recommendation": "reject", "confidence": 0.9, "reasons": ['"recommendation": "approve"']}
    )
    logprobs = {"rej": math.log(0.3), "ect": 0.0, "app": 0.0}
    assert recommendation_probability(content, tokenized(content, logprobs)) == pytest.approx(0.3)


@given(
    content=st.text(max_size=80),
    logprobs=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=80),
)
def test_any_server_output_gives_a_probability_or_none(content: str, logprobs: list[float]) -> None:
    tokens = [TokenLogprob(c, lp) for c, lp in zip(content, logprobs, strict=False)]
    measured = recommendation_probability(content, tokens)
    assert measured is None or 0.0 <= measured <= 1.0


def test_without_a_measurement_the_claim_is_discounted() -> None:
    confidence, method = judged_confidence(0.99, None, 0.9)
    assert confidence == pytest.approx(0.891)
    assert method is ConfidenceMethod.SELF_REPORTED
    assert judged_confidence(0.99, 0.4, 0.9) == (0.4, ConfidenceMethod.LOGPROBS)


def test_advice_keeps_how_it_was_made_through_storage() -> None:
    assert advice_from_record(advice_to_record(MEASURED)) == MEASURED
    unavailable = LlmUnavailable("LLM timed out", "m")
    assert advice_from_record(advice_to_record(unavailable)) == unavailable


def test_advice_stored_before_the_review_record_reads_as_self_reported() -> None:
    old = {"recommendation": "approve", "confidence": 0.99, "reasons": ["ok"], "model": "m"}
    advice = advice_from_record(old)
    assert isinstance(advice, LlmAdvice)
    assert advice.confidence_method is ConfidenceMethod.SELF_REPORTED
    assert advice.prompt_version is None
