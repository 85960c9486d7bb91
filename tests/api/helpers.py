"""Helpers the API tests share: people with tokens, and the Slack stand-in's secrets."""

import secrets
from dataclasses import dataclass

SIGNING_SECRET = secrets.token_hex(16)
BOT_TOKEN = "xoxb-" + secrets.token_hex(20)


@dataclass
class Person:
    id: int
    email: str
    name: str
    slack_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}
