"""Helpers the API tests share: people with tokens, and the Slack stand-in's secrets."""

import hashlib
import hmac
import secrets
import time
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


def signed_raw(
    body: bytes, *, secret: str = SIGNING_SECRET, ts: str | None = None
) -> dict[str, str]:
    """Slack's scheme over raw bytes, so that even non-UTF-8 bodies can be signed."""
    timestamp = ts or str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
