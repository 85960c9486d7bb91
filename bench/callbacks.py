"""Slack callback ack latency under load, against GET /healthz on the same server as baseline.

Run: python -m bench.callbacks. Clicks are signed block_actions on pending expenses; most are
second clicks (already decided), which is the heaviest path that still acks first.
"""

import time
from decimal import Decimal
from typing import Any

import httpx

from app.db import Database
from app.domain.advice import LlmUnavailable
from app.domain.gate import route_expense
from app.domain.rules import ExpenseFacts
from app.policy_loader import load_policy
from app.services import evaluation
from app.settings import DEFAULT_POLICY_FILE
from bench.common import SIGNING_SECRET, running_api, submit_as_alice, summary, timed
from slack.blocks import approval_card
from slack.card_data import load_card_view
from slack.sandbox.payloads import block_actions, signed_request

EXPENSES = 100
CLICKS = 600
CONCURRENCY = 24


def pending_cards(database_url: str) -> list[dict[str, Any]]:
    policy = load_policy(DEFAULT_POLICY_FILE)
    db = Database(database_url, job_sender=lambda _jobs: None)
    cards = []
    for i, expense_id in enumerate(submit_as_alice(db, ["1500.00"] * EXPENSES, "M")):
        advice = LlmUnavailable("bench")
        facts = ExpenseFacts(Decimal("1500.00"), "USD", "travel", True)
        with db.session() as session:
            evaluation.record_gate_decision(
                session, expense_id, route_expense(policy, facts, advice), advice, policy
            )
            view = load_card_view(session, expense_id, 0)
        cards.append({"channel": "C0APPROVALS", "ts": f"1.{i:06d}", "blocks": approval_card(view)})
    db.dispose()
    return cards


def main() -> None:
    with running_api() as bench:
        cards = pending_cards(bench.database_url)
        client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=CONCURRENCY))
        approvers = ["U0BOB", "U0CAROL"]

        def click(i: int) -> None:
            card = cards[i % len(cards)]
            actions = next(b for b in card["blocks"] if b["type"] == "actions")
            payload = block_actions(
                user_id=approvers[i % 2],
                channel="C0APPROVALS",
                message=card,
                action=actions["elements"][0],
                block_id=actions["block_id"],
                trigger_id=f"t{i}",
            )
            body, headers = signed_request(payload, SIGNING_SECRET)
            response = client.post(f"{bench.api}/slack/events", content=body, headers=headers)
            assert response.status_code == 200, response.text

        def health(_i: int) -> None:
            assert client.get(f"{bench.api}/healthz").status_code == 200

        # Interleave the two so machine noise hits both alike.
        results: dict[str, list[float]] = {"baseline": [], "callbacks": []}
        walls = {"baseline": 0.0, "callbacks": 0.0}
        for _round in range(3):
            for label, fn in (("baseline", health), ("callbacks", click)):
                lat, wall = timed(fn, range(CLICKS // 3), CONCURRENCY)
                results[label] += lat
                walls[label] += wall
                time.sleep(2)  # let work queued after the acks drain before the next round
        base = summary("GET /healthz (baseline)", results["baseline"], walls["baseline"])
        cb = summary("POST /slack/events (ack)", results["callbacks"], walls["callbacks"])
        print(
            f"ack p95 / baseline p95 = {cb['p95_ms'] / base['p95_ms']:.2f}x; "
            f"ack max = {cb['max_ms']:.0f} ms against Slack's 3000 ms limit"
        )


if __name__ == "__main__":
    main()
