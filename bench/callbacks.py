"""Slack click acks at a fixed rate, against GET /healthz at the same rate on the same server.

Run: python -m bench.callbacks [RATE] [SECONDS]   (default 100/s for 10 s; goal: ack p99 <= 50 ms
and no errors). Open loop (bench/open_loop.py): each request leaves at its scheduled moment and
its latency counts from that moment, so a stall shows in full. Half the clicks are first clicks
on pending expenses (a decision is stored before the ack and applied by a worker), half are
second clicks on the same cards (already decided). A worker runs alongside, as in production,
and the API has two processes, as in the compose file. The healthz and click phases alternate,
so machine noise hits both alike.
"""

import sys
import time
from decimal import Decimal
from typing import Any

from app.db import Database
from app.domain.advice import LlmUnavailable
from app.domain.gate import route_expense
from app.domain.rules import ExpenseFacts
from app.policy_loader import load_policy
from app.services import evaluation
from app.settings import DEFAULT_POLICY_FILE
from bench.common import SIGNING_SECRET, running_api, submit_as_alice
from bench.open_loop import Request, open_loop
from slack.blocks import approval_card
from slack.card_data import load_card_view
from slack.sandbox.payloads import block_actions, signed_request

ROUNDS = 2
API_WORKERS = 2
GOAL_P99_MS = 50.0


def pending_cards(database_url: str, count: int) -> list[dict[str, Any]]:
    """`count` expenses waiting for an approver, each with the card Slack would hold."""
    policy = load_policy(DEFAULT_POLICY_FILE)
    db = Database(database_url, job_sender=lambda _jobs: None)
    advice = LlmUnavailable("bench")
    facts = ExpenseFacts(Decimal("1500.00"), "USD", "travel", True)
    cards = []
    for i, expense_id in enumerate(submit_as_alice(db, ["1500.00"] * count, "Ack")):
        with db.session() as session:
            evaluation.record_gate_decision(
                session, expense_id, route_expense(policy, facts, advice), advice, policy
            )
            view = load_card_view(session, expense_id, 0)
        cards.append({"channel": "C0APPROVALS", "ts": f"1.{i:06d}", "blocks": approval_card(view)})
    db.dispose()
    return cards


def clicks(api: str, cards: list[dict[str, Any]]) -> list[Request]:
    """Bob approves each card, and clicks it again a moment later: first and repeated clicks."""
    requests: list[Request] = []
    for i, card in enumerate(cards):
        actions = next(b for b in card["blocks"] if b["type"] == "actions")
        for again in (0, 1):
            payload = block_actions(
                user_id="U0BOB",
                channel="C0APPROVALS",
                message=card,
                action=actions["elements"][0],
                block_id=actions["block_id"],
                trigger_id=f"t{i}-{again}",
            )
            body, headers = signed_request(payload, SIGNING_SECRET)
            requests.append(Request("POST", f"{api}/slack/events", body, tuple(headers.items())))
    # A card's second click follows its first by a few others, as a double click over a slow
    # network would: some land while the first is still being applied.
    firsts, seconds = requests[0::2], requests[1::2]
    mixed: list[Request] = []
    for n, first in enumerate(firsts):
        mixed.append(first)
        if n >= 3:
            mixed.append(seconds[n - 3])
    return mixed + seconds[max(0, len(firsts) - 3) :]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


def report(label: str, latencies: list[float], errors: int) -> float:
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    print(
        f"{label:<26} n={len(latencies):<5} errors={errors:<3} p50={p50:6.1f} ms "
        f"p99={p99:6.1f} ms max={max(latencies) * 1000:7.1f} ms"
    )
    return p99


def main() -> None:
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 100.0
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    per_round = int(rate * seconds)
    with running_api(api_workers=API_WORKERS) as bench:
        bench.start_worker(concurrency=2)
        cards = pending_cards(bench.database_url, per_round * ROUNDS // 2)
        all_clicks = clicks(bench.api, cards)
        health = Request("GET", f"{bench.api}/healthz")
        found: dict[str, list[float]] = {"healthz": [], "clicks": []}
        failed = {"healthz": 0, "clicks": 0}
        for n in range(ROUNDS):
            for label, batch in (
                ("healthz", [health] * per_round),
                ("clicks", all_clicks[n * per_round : (n + 1) * per_round]),
            ):
                latencies, errors = open_loop(batch, rate)
                found[label] += latencies
                failed[label] += errors
                time.sleep(1)  # let work queued after the acks drain before the next phase
        print(f"{rate:.0f} requests/s for {seconds:.0f} s, {ROUNDS} rounds each:")
        base = report("GET /healthz (baseline)", found["healthz"], failed["healthz"])
        ack = report("POST /slack/events (ack)", found["clicks"], failed["clicks"])
        verdict = "met" if ack <= GOAL_P99_MS and not failed["clicks"] else "NOT met"
        print(f"ack p99 / baseline p99 = {ack / base:.2f}x; p99 <= {GOAL_P99_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
