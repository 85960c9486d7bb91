"""Interactivity payloads of Slack's real shape, and Slack's request signing."""

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

TEAM = {"id": "T0SANDBOX", "domain": "sandbox"}
APP_ID = "A0SANDBOX"


def _user(user_id: str) -> dict[str, str]:
    return {
        "id": user_id,
        "username": user_id.lower(),
        "name": user_id.lower(),
        "team_id": TEAM["id"],
    }


def block_actions(
    *,
    user_id: str,
    channel: str,
    message: dict[str, Any],
    action: dict[str, Any],
    block_id: str,
    trigger_id: str,
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": TEAM,
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "approvals"},
        "message": message,
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{TEAM['id']}/1/{uuid.uuid4().hex}",
        "actions": [
            {**action, "block_id": block_id, "action_ts": f"{time.time():.6f}"},
        ],
    }


def view_submission(
    *, user_id: str, view: dict[str, Any], values: dict[str, dict[str, str]], trigger_id: str
) -> dict[str, Any]:
    """`values` maps block_id -> action_id -> typed value, as the user filled the inputs."""
    state = {
        block_id: {
            action_id: {"type": "plain_text_input", "value": value}
            for action_id, value in actions.items()
        }
        for block_id, actions in values.items()
    }
    return {
        "type": "view_submission",
        "team": TEAM,
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "trigger_id": trigger_id,
        "view": {**view, "state": {"values": state}},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def slash_command(*, user_id: str, command: str, text: str, channel: str) -> dict[str, str]:
    """The form fields Slack sends for a slash command (with "Escape channels, users" on)."""
    return {
        "token": "deprecated-verification-token",
        "team_id": TEAM["id"],
        "team_domain": TEAM["domain"],
        "channel_id": channel,
        "channel_name": "directmessage" if channel.startswith("D") else "approvals",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": f"https://hooks.slack.com/commands/{TEAM['id']}/1/{uuid.uuid4().hex}",
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
    }


def signed_request(
    payload: dict[str, Any], signing_secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The form body and headers Slack sends for an interactivity payload."""
    return signed_form({"payload": json.dumps(payload)}, signing_secret, timestamp=timestamp)


def signed_form(
    fields: dict[str, str], signing_secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A form body (an interactivity payload, a slash command) signed as Slack signs it."""
    body = urlencode(fields)
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }
    return body.encode(), headers
