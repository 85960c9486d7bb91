"""The strict Slack Web API stand-in, shared by the tests that post to Slack."""

from collections.abc import Iterator

import httpx
import pytest

from bench.standins.server import ServerThread
from slack.sandbox.app import create_sandbox_app

TOKEN = "xoxb-delivery-test"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ServerThread]:
    app = create_sandbox_app(bot_token=TOKEN, signing_secret="s", events_url="http://127.0.0.1:9")
    with ServerThread(app) as server:
        yield server


def posts_with_key(sandbox: ServerThread, key: str) -> list[dict[str, object]]:
    messages = httpx.get(f"{sandbox.url}/_state").json()["messages"]
    return [
        m for m in messages if (m.get("metadata") or {}).get("event_payload", {}).get("key") == key
    ]
