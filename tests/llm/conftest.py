"""The OpenAI stand-in for these tests, and a reviewer with the real client pointed at it."""

from collections.abc import Iterator

import pytest

from app.llm.reviewer import OpenAIReviewer
from app.settings import Settings
from bench.standins.openai_standin import EXPECTED_KEY, create_openai_standin
from bench.standins.server import ServerThread


@pytest.fixture(scope="module")
def standin() -> Iterator[ServerThread]:
    with ServerThread(create_openai_standin()) as server:
        yield server


def reviewer(standin: ServerThread, **values: object) -> OpenAIReviewer:
    settings = Settings(
        _env_file=None,
        app_env="development",
        openai_base_url=f"{standin.url}/v1",
        openai_api_key=EXPECTED_KEY,
        openai_model="standin-model",
        **values,  # type: ignore[arg-type]
    )
    return OpenAIReviewer(settings)
