"""The OpenAI client subclass merges URLs exactly as the SDK does, once per base URL and path."""

from unittest import mock

import openai

from app.llm.client import OpenAIClient


def test_each_path_is_merged_as_the_sdk_merges_it_and_only_once() -> None:
    ours = OpenAIClient(api_key="k", base_url="http://llm.internal:8000/v1/")
    sdk = openai.OpenAI(api_key="k", base_url="http://llm.internal:8000/v1/")
    for path in ("/chat/completions", "chat/completions", "/models", "https://other.example/x"):
        assert str(ours._prepare_url(path)) == str(sdk._prepare_url(path))
    with mock.patch.object(openai.OpenAI, "_prepare_url", side_effect=AssertionError):
        assert str(ours._prepare_url("/chat/completions")).endswith("/v1/chat/completions")
    ours.base_url = "http://elsewhere.internal/v2/"
    assert (
        str(ours._prepare_url("/chat/completions"))
        == "http://elsewhere.internal/v2/chat/completions"
    )
