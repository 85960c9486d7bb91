"""The Slack Web API subset the bot uses, held in memory, strict about tokens and block limits."""

import itertools
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from slack.sandbox.validation import BlockError, check_blocks, check_home, check_modal

TRIGGER_LIFETIME = 3.0
BOT_USER = "U0SANDBOXBOT"
JSON_FIELDS = ("blocks", "metadata", "view", "attachments")


@dataclass
class Failure:
    """An injected answer: an error status, or status 200 answered `delay` seconds late."""

    status: int
    retry_after: int
    delay: float = 0.0


@dataclass
class SandboxState:
    bot_token: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: list[dict[str, Any]] = field(default_factory=list)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    triggers: dict[str, tuple[str, float]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    # The workspace's members by email, for users.lookupByEmail.
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Channels (or members' DMs) that answer with a permanent error, as Slack would:
    # channel_not_found, not_in_channel, is_archived, user_disabled...
    broken: dict[str, str] = field(default_factory=dict)
    # Each member's published Home tab, by user id.
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The workspace's channels, id -> name, for conversations.list.
    channels: dict[str, str] = field(
        default_factory=lambda: {"C0APPROVALS": "approvals", "C0EXPENSES": "expenses"}
    )
    _clock: "itertools.count[int]" = field(default_factory=itertools.count)
    # When set, chat.postMessage keeps Slack's own limit of about one message a second per
    # channel, allowing bursts of this many, and answers 429 with Retry-After beyond it.
    channel_burst: int | None = None
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def limit_channels(self, burst: int | None) -> None:
        self.channel_burst = burst
        self._buckets.clear()

    def over_channel_limit(self, channel: str, now: float) -> int | None:
        """Seconds to wait if a post to `channel` now exceeds the limit; else None (and count it).

        A token bucket per channel: one token a second, at most `channel_burst` saved up.
        """
        if self.channel_burst is None:
            return None
        tokens, last = self._buckets.get(channel, (float(self.channel_burst), now))
        tokens = min(float(self.channel_burst), tokens + (now - last))
        if tokens < 1.0:
            self._buckets[channel] = (tokens, now)
            return max(1, math.ceil(1.0 - tokens))
        self._buckets[channel] = (tokens - 1.0, now)
        return None

    def next_ts(self) -> str:
        # Unique, increasing message timestamps in Slack's "seconds.micros" form.
        return f"{time.time():.0f}.{next(self._clock):06d}"

    def issue_trigger(self, user_id: str) -> str:
        trigger = f"{int(time.time())}.{secrets.token_hex(6)}"
        with self.lock:
            self.triggers[trigger] = (user_id, time.monotonic())
        return trigger

    def inject_failure(
        self, method: str, status: int, retry_after: int, times: int, delay: float = 0.0
    ) -> None:
        with self.lock:
            self.failures.setdefault(method, []).extend(
                Failure(status, retry_after, delay) for _ in range(times)
            )

    def add_user(self, email: str, user_id: str | None = None, name: str = "") -> dict[str, Any]:
        """A workspace member; Slack matches emails without regard to case."""
        user = {
            "id": user_id or "U" + secrets.token_hex(5).upper(),
            "team_id": "T0SANDBOX",
            "name": name or email.split("@")[0],
            "deleted": False,
            "is_bot": False,
            "profile": {"email": email, "real_name": name},
        }
        with self.lock:
            self.users[email.lower()] = user
        return user

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            copy: dict[str, Any] = json.loads(
                json.dumps(
                    {
                        "messages": self.messages,
                        "ephemerals": self.ephemerals,
                        "views": self.views,
                        "homes": self.homes,
                        "calls": self.calls,
                    }
                )
            )
        return copy


class ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def parse_args(raw: dict[str, Any]) -> dict[str, Any]:
    args = dict(raw)
    for key in JSON_FIELDS:
        if isinstance(args.get(key), str):
            try:
                args[key] = json.loads(args[key])
            except json.JSONDecodeError:
                raise ApiError(f"invalid_{key}") from None
    return args


def _require(args: dict[str, Any], *names: str) -> None:
    for name in names:
        if not args.get(name):
            raise ApiError("invalid_arguments", response_metadata={"messages": [f"missing {name}"]})


def _check_blocks(args: dict[str, Any]) -> None:
    if "blocks" in args:
        try:
            check_blocks(args["blocks"])
        except BlockError as exc:
            raise ApiError("invalid_blocks", errors=[str(exc)]) from None
    if len(str(args.get("text", ""))) > 40000:
        raise ApiError("msg_too_long")
    if not args.get("text") and not args.get("blocks"):
        raise ApiError("no_text")


def _channel(channel: str) -> str:
    # Posting to a user id posts to the bot's DM with them, as Slack does.
    return "D" + channel[1:] if channel.startswith("U") else channel


class WebApi:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def call(self, method: str, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        if token is None:
            raise ApiError("not_authed")
        if token != self.state.bot_token:
            raise ApiError("invalid_auth")
        handler = getattr(self, method.replace(".", "_"), None)
        if handler is None:
            raise ApiError("unknown_method")
        result: dict[str, Any] = handler(args)
        return {"ok": True, **result}

    def auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://sandbox.slack.local/",
            "team": "Sandbox",
            "team_id": "T0SANDBOX",
            "user": "expense-bot",
            "user_id": BOT_USER,
            "bot_id": "B0SANDBOX",
        }

    def _usable(self, channel: str) -> str:
        error = self.state.broken.get(channel)
        if error is not None:
            raise ApiError(error)
        return channel

    def chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        _require(args, "channel")
        _check_blocks(args)
        channel = self._usable(_channel(str(args["channel"])))
        with self.state.lock:
            if args.get("thread_ts") and not any(
                m["ts"] == args["thread_ts"] and m["channel"] == channel
                for m in self.state.messages
            ):
                raise ApiError("thread_not_found")
            message = {
                "type": "message",
                "user": BOT_USER,
                "bot_id": "B0SANDBOX",
                "channel": channel,
                "ts": self.state.next_ts(),
                "text": args.get("text", ""),
                "blocks": args.get("blocks", []),
                "thread_ts": args.get("thread_ts"),
                "metadata": args.get("metadata"),
            }
            self.state.messages.append(message)
        return {"channel": channel, "ts": message["ts"], "message": message}

    def chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "channel", "ts")
        _check_blocks(args)
        self._usable(str(args["channel"]))
        with self.state.lock:
            for message in self.state.messages:
                if message["channel"] == args["channel"] and message["ts"] == args["ts"]:
                    message.update(
                        text=args.get("text", ""),
                        blocks=args.get("blocks", []),
                        edited={"ts": self.state.next_ts()},
                    )
                    return {"channel": message["channel"], "ts": message["ts"]}
        raise ApiError("message_not_found")

    def chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        _require(args, "channel", "user")
        _check_blocks(args)
        with self.state.lock:
            ts = self.state.next_ts()
            self.state.ephemerals.append(
                {
                    "channel": args["channel"],
                    "user": args["user"],
                    "text": args.get("text", ""),
                    "ts": ts,
                }
            )
        return {"message_ts": ts}

    def conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "users")
        users = str(args["users"]).split(",")
        if len(users) != 1:
            raise ApiError("not_implemented")
        if users[0] in self.state.broken:  # a deactivated member: Slack's "user_disabled"
            raise ApiError(self.state.broken[users[0]])
        return {"channel": {"id": _channel(users[0])}}

    def _listing(self, messages: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
        oldest = float(args.get("oldest") or 0)
        keep_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        out = []
        for m in sorted(messages, key=lambda m: m["ts"], reverse=True):
            if float(m["ts"]) > oldest:
                out.append({k: v for k, v in m.items() if keep_meta or k != "metadata"})
        return {"messages": out[: int(args.get("limit") or 100)], "has_more": False}

    def conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "channel")
        with self.state.lock:
            top = [
                m
                for m in self.state.messages
                if m["channel"] == args["channel"] and not m.get("thread_ts")
            ]
        return self._listing(top, args)

    def conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "channel", "ts")
        with self.state.lock:
            thread = [
                m
                for m in self.state.messages
                if m["channel"] == args["channel"]
                and (m["ts"] == args["ts"] or m.get("thread_ts") == args["ts"])
            ]
        return self._listing(thread, args)

    def views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "trigger_id", "view")
        with self.state.lock:
            issued = self.state.triggers.pop(str(args["trigger_id"]), None)
        if issued is None:
            raise ApiError("invalid_trigger_id")
        user_id, at = issued
        if time.monotonic() - at > TRIGGER_LIFETIME:
            raise ApiError("expired_trigger_id")
        try:
            check_modal(args["view"])
        except BlockError as exc:
            raise ApiError("invalid_arguments", errors=[str(exc)]) from None
        view_id = "V" + secrets.token_hex(5).upper()
        view = {
            **args["view"],
            "id": view_id,
            "team_id": "T0SANDBOX",
            "root_view_id": view_id,
            "app_id": "A0SANDBOX",
            "bot_id": "B0SANDBOX",
            "hash": secrets.token_hex(8),
            "previous_view_id": None,
        }
        with self.state.lock:
            self.state.views[view_id] = {"view": view, "user": user_id, "open": True}
        return {"view": view}

    def users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        _require(args, "email")
        with self.state.lock:
            user = self.state.users.get(str(args["email"]).lower())
        if user is None:
            raise ApiError("users_not_found")
        return {"user": user}

    def views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "user_id", "view")
        try:
            check_home(args["view"])
        except BlockError as exc:
            raise ApiError("invalid_arguments", errors=[str(exc)]) from None
        view = {**args["view"], "id": "V" + secrets.token_hex(5).upper(), "team_id": "T0SANDBOX"}
        with self.state.lock:
            self.state.homes[str(args["user_id"])] = view
        return {"view": view}

    def conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Pages of channels, as Slack gives them: `limit` at a time, then `next_cursor`."""
        with self.state.lock:
            channels = sorted(self.state.channels.items())
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = channels[start : start + limit]
        more = start + limit < len(channels)
        return {
            "channels": [
                {"id": cid, "name": name, "is_channel": True, "is_archived": False}
                for cid, name in page
            ],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }
