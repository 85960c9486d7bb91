"""Helpers the API tests share: people with tokens, signed Slack clicks, the stand-in's secrets."""

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.db import Database
from models import Decision
from slack.blocks import approval_card
from slack.card_data import load_card_view
from slack.ids import ActionId, BlockId
from slack.sandbox.payloads import block_actions, signed_request

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


def card_click(db: Database, expense_id: uuid.UUID, user: str, **payload: Any) -> dict[str, Any]:
    with db.session() as session:
        blocks = approval_card(load_card_view(session, expense_id, 0))
    actions = next(b for b in blocks if b.get("block_id") == BlockId.ACTIONS.value)
    button = next(e for e in actions["elements"] if e["action_id"] == ActionId.APPROVE.value)
    body = block_actions(
        user_id=user,
        channel="C0APPROVALS",
        message={"ts": "1700000000.000100", "blocks": blocks, "text": "card"},
        action=button,
        block_id=BlockId.ACTIONS.value,
        trigger_id="1.2.3",
    )
    body.update(payload)
    return body


def post_slack(client: TestClient, payload: dict[str, Any], secret: str = SIGNING_SECRET) -> Any:
    body, headers = signed_request(payload, secret)
    return client.post("/slack/events", content=body, headers=headers)


def decisions_on(db: Database, expense_id: uuid.UUID) -> int:
    with db.session() as session:
        count = session.scalar(
            select(func.count()).select_from(Decision).where(Decision.expense_id == expense_id)
        )
        return int(count or 0)
