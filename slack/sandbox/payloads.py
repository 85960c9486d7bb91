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


def _clicked(
    user_id: str,
    container: dict[str, Any],
    action: dict[str, Any],
    block_id: str,
    trigger_id: str,
    **where: Any,
) -> dict[str, Any]:
    """A block_actions payload; `where` is the message and channel, or the view."""
    return {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "container": container,
        "trigger_id": trigger_id,
        "team": TEAM,
        "enterprise": None,
        "is_enterprise_install": False,
        **where,
        "actions": [{**action, "block_id": block_id, "action_ts": f"{time.time():.6f}"}],
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
    container = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel,
        "is_ephemeral": False,
    }
    return _clicked(
        user_id,
        container,
        action,
        block_id,
        trigger_id,
        channel={"id": channel, "name": "approvals"},
        message=message,
        state={"values": {}},
        response_url=f"https://hooks.slack.com/actions/{TEAM['id']}/1/{uuid.uuid4().hex}",
    )


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


def _signed(
    body: str, content_type: str, signing_secret: str, timestamp: int | None
) -> tuple[bytes, dict[str, str]]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }
    return body.encode(), headers


def signed_request(
    payload: dict[str, Any], signing_secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The form body and headers Slack sends for an interactivity payload."""
    return signed_form({"payload": json.dumps(payload)}, signing_secret, timestamp=timestamp)


def signed_form(
    fields: dict[str, str], signing_secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A form body (an interactivity payload, a slash command) signed as Slack signs it."""
    return _signed(
        urlencode(fields), "application/x-www-form-urlencoded", signing_secret, timestamp
    )


def event_callback(event: dict[str, Any]) -> dict[str, Any]:
    """An Events API envelope around `event` (a message, app_home_opened...)."""
    return {
        "token": "deprecated-verification-token",
        "team_id": TEAM["id"],
        "api_app_id": APP_ID,
        "event": {**event, "event_ts": f"{time.time():.6f}"},
        "type": "event_callback",
        "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM["id"], "user_id": "U0SANDBOXBOT", "is_bot": True}],
    }


def dm_reply(*, user_id: str, channel: str, thread_ts: str, text: str, ts: str) -> dict[str, Any]:
    """A person's reply in a thread of their direct messages with the bot."""
    return event_callback(
        {
            "type": "message",
            "channel": channel,
            "user": user_id,
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
            "channel_type": "im",
        }
    )


def home_opened(*, user_id: str) -> dict[str, Any]:
    return event_callback(
        {"type": "app_home_opened", "user": user_id, "channel": "D" + user_id[1:], "tab": "home"}
    )


def home_block_actions(
    *, user_id: str, view: dict[str, Any], action: dict[str, Any], block_id: str, trigger_id: str
) -> dict[str, Any]:
    """A click on a button of the Home tab: it carries the view, and no channel."""
    container = {"type": "view", "view_id": view["id"]}
    return _clicked(user_id, container, action, block_id, trigger_id, view=view)


def signed_event(
    payload: dict[str, Any], signing_secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The JSON body and headers Slack sends for the Events API."""
    return _signed(json.dumps(payload), "application/json", signing_secret, timestamp)
