"""The OpenAI SDK client, minus a cost that a busy worker pays on every call for nothing."""

from typing import Any

import openai


class OpenAIClient(openai.OpenAI):
    """`openai.OpenAI`, with each path's merge into the base URL kept instead of redone.

    The SDK re-parses the base URL and the path on every request; in a 128-thread worker that
    was a tenth of the CPU. The result depends only on the two, and URLs are immutable, so
    keeping it changes nothing else.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._merged_urls: dict[tuple[str, str], Any] = {}

    def _prepare_url(self, url: str) -> Any:
        key = (str(self.base_url), url)
        merged = self._merged_urls.get(key)
        if merged is None:
            merged = self._merged_urls[key] = super()._prepare_url(url)
        return merged
