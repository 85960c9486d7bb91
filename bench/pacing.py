"""Slack pacing: a burst of cards to one channel at Slack's 1 message a second, with 429s.

Run: python -m bench.pacing [CARDS]   (default 500; takes about CARDS seconds)

Dana, who has no manager, submits CARDS expenses at once: each card goes to the approvals
channel. Meanwhile the Slack stand-in answers some chat.postMessage calls 429 with Retry-After.
It also keeps Slack's own limit (about one a second per channel, short bursts) and counts each
time the bot went over it. Alice's expenses go to her manager Bob by direct message: a different
channel, which must not wait behind the burst. Their delivery time is measured twice in the same
run: before the burst (the baseline) and during it. Prints the channel's pace, lost and doubled
cards, and both DM delivery times.
"""

import json
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.common import Bench, running_api

DMS = 10
# The stand-in keeps Slack's own limit too: about 1 a second per channel, bursts of this many.
SLACK_BURST = 2
# Every this many seconds of the burst, the stand-in answers the next two posts 429.
THROTTLE_EVERY = 15.0
RETRY_AFTER = 2


def submit(bench: Bench, who: str, merchant: str) -> None:
    body = {
        "amount": "1500.00",
        "currency": "USD",
        "category": "travel",
        "merchant": merchant,
        "description": "Pacing benchmark",
        "incurred_on": (datetime.now(UTC).date() - timedelta(days=1)).isoformat(),
    }
    headers = {"Authorization": f"Bearer {bench.tokens[who]}"}
    response = httpx.post(f"{bench.api}/expenses", json=body, headers=headers, timeout=30)
    assert response.status_code == 202, response.text


def state(bench: Bench) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{bench.sandbox}/_state", timeout=30).json()
    return found


def posted(bench: Bench, tag: str) -> dict[str, list[dict[str, Any]]]:
    """The approval cards (messages with buttons) posted for merchants named `tag`NNNN."""
    cards: dict[str, list[dict[str, Any]]] = {}
    for message in state(bench)["messages"]:
        blocks = message.get("blocks", [])
        if not any(block.get("type") == "actions" for block in blocks):
            continue
        for merchant in sorted(set(re.findall(tag + r"\d{4}", json.dumps(blocks))))[:1]:
            cards.setdefault(merchant, []).append(message)
    return cards


def dm_delivery(bench: Bench, tag: str, deadline: float) -> list[float]:
    """Submits DMS of Alice's expenses, one a second; seconds until each card reached Bob
    (to about half a second: the stand-in's message timestamps count whole seconds)."""
    sent: dict[str, float] = {}
    for i in range(DMS):
        merchant = f"{tag}{i:04d}"
        sent[merchant] = time.time()
        submit(bench, "alice", merchant)
        time.sleep(1)
    while True:
        cards = posted(bench, tag)
        if len(cards) == DMS or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return [
        float(int(cards[m][0]["ts"].split(".")[0])) - at if m in cards else float("inf")
        for m, at in sent.items()
    ]


def channel_posts(bench: Bench, channel: str) -> list[float]:
    return sorted(
        c["at"]
        for c in state(bench)["calls"]
        if c["method"] == "chat.postMessage" and c["channel"] == channel and c["ok"]
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with running_api() as bench:
        bench.start_worker(concurrency=8)
        limit = {"burst": SLACK_BURST}
        httpx.post(f"{bench.sandbox}/_control/channel_limit", json=limit).raise_for_status()
        baseline = dm_delivery(bench, "Before", time.monotonic() + 120)

        started = time.time()
        for i in range(count):
            submit(bench, "dana", f"Burst{i:04d}")
        submitted = time.time() - started
        throttled = 0
        next_throttle = time.monotonic() + THROTTLE_EVERY
        during = dm_delivery(bench, "During", time.monotonic() + 120)
        deadline = time.monotonic() + count * 2 + 120
        while len(posted(bench, "Burst")) < count and time.monotonic() < deadline:
            if time.monotonic() >= next_throttle:
                httpx.post(
                    f"{bench.sandbox}/_control/fail",
                    json={"method": "chat.postMessage", "retry_after": RETRY_AFTER, "times": 2},
                )
                throttled += 2
                next_throttle += THROTTLE_EVERY
            time.sleep(1)
        time.sleep(5)  # anything doubled would show by now

        cards = posted(bench, "Burst")
        channel = bench.env["SLACK_APPROVALS_CHANNEL"]
        times = channel_posts(bench, channel)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        over = sum(1 for i in range(len(times) - 1) if times[i + 1] - times[i] < 0.9)
        calls = state(bench)["calls"]
        answered_429 = sum(1 for c in calls if c["status"] == 429)
        over_limit = sum(1 for c in calls if c.get("over_limit"))
        lost = count - len(cards)
        doubled = sum(len(m) - 1 for m in cards.values())
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        print(f"{count} cards submitted in {submitted:.1f} s to {channel}; 429s asked: {throttled}")
        print(
            f"channel: {len(times)} posts over {span:.1f} s = {(len(times) - 1) / span:.2f}/s "
            f"(Slack allows ~1/s); smallest gap {min(gaps):.3f} s; gaps under 0.9 s: {over}"
        )
        print(
            f"429 answers: {answered_429}, of which for going over Slack's channel limit "
            f"(bursts of {SLACK_BURST}): {over_limit}; cards lost: {lost}; doubled: {doubled}"
        )
        for label, found in (
            ("before the burst (baseline)", baseline),
            ("during the burst", during),
        ):
            print(
                f"DM cards to Bob {label:<28} p50 {statistics.median(found):5.1f} s "
                f"max {max(found):5.1f} s (n={len(found)})"
            )
        print(f"DM max during / before = {max(during) / max(max(baseline), 1.0):.2f}x")


if __name__ == "__main__":
    main()
