"""Drives a running bot over HTTP the way employees, Slack and auditors do."""

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from slack.ids import CallbackId
from slack.sandbox.payloads import (
    block_actions,
    dm_reply,
    home_block_actions,
    home_opened,
    signed_event,
    signed_request,
    view_submission,
)
from tests.helpers import expense_body, wait_for

__all__ = ["Stack", "expense_body", "unique_key", "wait_for"]


@dataclass
class Stack:
    kind: str
    api: str
    sandbox: str
    signing_secret: str
    tokens: dict[str, str]
    procs: Any = None
    env: dict[str, str] = field(default_factory=dict)
    workdir: Path | None = None
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    # Employees and auditors -------------------------------------------------------------
    def submit(self, who: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        if key:
            headers["Idempotency-Key"] = key
        return self.http.post(f"{self.api}/expenses", json=body, headers=headers)

    def submit_ok(self, who: str, body: dict[str, Any]) -> str:
        response = self.submit(who, body)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def comment(self, who: str, expense_id: str, text: str) -> httpx.Response:
        return self.http.post(
            f"{self.api}/expenses/{expense_id}/comments",
            json={"text": text},
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )

    def cancel(self, who: str, expense_id: str) -> httpx.Response:
        return self.http.post(
            f"{self.api}/expenses/{expense_id}/cancel",
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )

    def expense(self, expense_id: str, who: str = "dana") -> dict[str, Any]:
        """The expense as `who` sees it; by default the auditor, who sees its whole history."""
        response = self.http.get(
            f"{self.api}/expenses/{expense_id}",
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_status(
        self, expense_id: str, status: str, who: str = "dana", timeout: float = 30
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            current = self.expense(expense_id, who)
            return current if current["status"] == status else None

        return wait_for(probe, timeout=timeout, what=f"expense {expense_id} to be {status}")

    def audit(
        self, who: str = "dana", cursor: str | None = None, limit: int = 500
    ) -> httpx.Response:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self.http.get(
            f"{self.api}/audit/events",
            params=params,
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )

    def verify_audit_log(self) -> None:
        """`expense-bot audit verify`, as an operator runs it: the hash chain is whole."""
        done = subprocess.run(
            [sys.executable, "-m", "app", "audit", "verify"],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "audit log intact" in done.stdout

    # The Slack side ---------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return dict(self.http.get(f"{self.sandbox}/_state").json())

    def messages(self, key_prefix: str) -> list[dict[str, Any]]:
        found = []
        for message in self.state()["messages"]:
            key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key", "")
            if key.startswith(key_prefix):
                found.append(message)
        return found

    def card(self, expense_id: str, step: int = 0) -> dict[str, Any]:
        return wait_for(
            lambda: next(iter(self.messages(f"card:{expense_id}:{step}")), None),
            what=f"card for {expense_id} step {step}",
        )

    def fresh_card(self, expense_id: str, step: int = 0) -> dict[str, Any]:
        return next(iter(self.messages(f"card:{expense_id}:{step}")))

    def decided_card(self, expense_id: str, step: int = 0) -> dict[str, Any]:
        """Waits until the card was updated to show the outcome, without buttons."""

        def probe() -> dict[str, Any] | None:
            card = self.fresh_card(expense_id, step)
            return None if any(b["type"] == "actions" for b in card["blocks"]) else card

        return wait_for(probe, what=f"card {expense_id} without buttons")

    def ephemerals(self, user: str) -> list[str]:
        return [e["text"] for e in self.state()["ephemerals"] if e["user"] == user]

    def inject_failure(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        self.http.post(
            f"{self.sandbox}/_control/fail",
            json={
                "method": method,
                "status": status,
                "retry_after": retry_after,
                "times": times,
                "delay": delay,
            },
        ).raise_for_status()

    def clear_failures(self) -> None:
        self.http.post(f"{self.sandbox}/_control/clear").raise_for_status()

    def break_channel(self, channel: str, error: str) -> None:
        """From now on Slack refuses this channel (or member) for good, with `error`."""
        body = {"channel": channel, "error": error}
        self.http.post(f"{self.sandbox}/_control/break", json=body).raise_for_status()

    def trigger(self, user: str) -> str:
        response = self.http.post(f"{self.sandbox}/_control/trigger", json={"user": user})
        return str(response.json()["trigger_id"])

    def post_signed(
        self, payload: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None
    ) -> httpx.Response:
        body, headers = signed_request(payload, secret or self.signing_secret, timestamp=timestamp)
        return self.http.post(f"{self.api}/slack/events", content=body, headers=headers)

    def post_event(self, payload: dict[str, Any]) -> httpx.Response:
        """An Events API callback (JSON), signed as Slack signs it."""
        body, headers = signed_event(payload, self.signing_secret)
        return self.http.post(f"{self.api}/slack/events", content=body, headers=headers)

    def reply_in_thread(self, user: str, message: dict[str, Any], text: str) -> httpx.Response:
        """`user` answers a direct message from the bot in its thread."""
        ts = f"{time.time():.6f}"
        return self.post_event(
            dm_reply(
                user_id=user, channel=message["channel"], thread_ts=message["ts"], text=text, ts=ts
            )
        )

    def home(self, user: str) -> dict[str, Any] | None:
        home = self.state()["homes"].get(user)
        return dict(home) if home else None

    def open_home(self, user: str) -> dict[str, Any]:
        """Opens the Home tab, as Slack tells the bot, and waits for the view it publishes."""
        before = self.home(user)
        assert self.post_event(home_opened(user_id=user)).status_code == 200

        def published() -> dict[str, Any] | None:
            now = self.home(user)
            return now if now is not None and now != before else None

        return wait_for(published, what=f"the Home tab of {user}")

    def home_click(
        self, user: str, home: dict[str, Any], expense_id: str, action_id: str
    ) -> httpx.Response:
        actions = next(
            b for b in home["blocks"] if b["type"] == "actions" and expense_id in b["block_id"]
        )
        element = next(e for e in actions["elements"] if e["action_id"] == action_id)
        payload = home_block_actions(
            user_id=user,
            view=home,
            action=element,
            block_id=actions["block_id"],
            trigger_id=self.trigger(user),
        )
        return self.post_signed(payload)

    def click_payload(self, user: str, message: dict[str, Any], action_id: str) -> dict[str, Any]:
        actions = next(b for b in message["blocks"] if b["type"] == "actions")
        element = next(e for e in actions["elements"] if e["action_id"] == action_id)
        return block_actions(
            user_id=user,
            channel=message["channel"],
            message=message,
            action=element,
            block_id=actions["block_id"],
            trigger_id=self.trigger(user),
        )

    def click(self, user: str, message: dict[str, Any], action_id: str) -> httpx.Response:
        return self.post_signed(self.click_payload(user, message, action_id))

    def open_view(self, user: str, callback: CallbackId, expense_id: str) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            for entry in self.state()["views"].values():
                view = entry["view"]
                if (
                    entry["user"] == user
                    and entry["open"]
                    and view["callback_id"] == callback
                    and expense_id in view["private_metadata"]
                ):
                    return dict(view)
            return None

        return wait_for(probe, what=f"{callback} modal for {user}")

    def submit_view(self, user: str, view: dict[str, Any], text: str) -> httpx.Response:
        payload = view_submission(
            user_id=user,
            view=view,
            values={"reason": {"reason_input": text}},
            trigger_id=self.trigger(user),
        )
        return self.post_signed(payload)


def unique_key() -> str:
    return uuid.uuid4().hex
