"""The Slack sandbox as a stand-in server for tests, and adding members to its workspace."""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bench.standins.server import ServerThread
from slack.sandbox.app import create_sandbox_app


@contextmanager
def sandbox_server(bot_token: str) -> Iterator[ServerThread]:
    """A sandbox whose clicks go nowhere: for tests of the bot's outgoing calls."""
    app = create_sandbox_app(
        bot_token=bot_token, signing_secret="unused", events_url="http://127.0.0.1:9"
    )
    with ServerThread(app) as server:
        yield server


def add_member(server: ServerThread, email: str, user_id: str | None = None) -> str:
    """Make `email` a member of the sandbox's workspace; returns their Slack user id."""
    body = {"email": email} if user_id is None else {"email": email, "id": user_id}
    answer = httpx.post(f"{server.url}/_control/users", json=body)
    answer.raise_for_status()
    return str(answer.json()["user"]["id"])
