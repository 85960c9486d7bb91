"""Events API listeners: a reply in a question's DM thread, and the Home tab being opened."""

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from app.db import Database
from slack.home import publish_home
from slack.listeners.common import AfterAck


def register(bolt: App, db: Database, after_ack: AfterAck) -> None:
    @bolt.event("message")
    def message() -> None:
        # Bolt acks events itself; an answer was recorded with the request, and queued for a
        # worker, before that. Other messages need nothing.
        return

    @bolt.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") == "home" and isinstance(event.get("user"), str):
            after_ack.submit(publish_home, db, client, event["user"])
