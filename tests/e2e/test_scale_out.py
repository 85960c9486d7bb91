"""Scale-out: two API instances and two workers on one PostgreSQL and one broker, one beat.

What must hold across processes: an Idempotency-Key sent to both APIs at once makes one
expense; two clicks on one card through different APIs make one decision; jobs spread over
both workers still post each Slack message once; and only one scheduler sweeps.
"""

import concurrent.futures
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.standins.server import ServerThread, free_port
from slack.ids import ActionId
from tests.e2e.chaos import (
    Answers,
    Rig,
    add_submitters,
    alive,
    assert_consistent,
    burst_bodies,
    chaos_rig,
    wait_idle_broker,
    wait_settled,
)
from tests.e2e.harness import Stack, unique_key, wait_for

pytestmark = pytest.mark.e2e

EXPENSES = 60
HUMAN_EVERY = 4
SUBMITTERS = 6
# What the embedded scheduler logs each time it queues the sweeper.
BEAT_SENDS = "Sending due task sweep-stuck"


@pytest.fixture
def rig(tmp_path: Path, slow_llm: ServerThread) -> Iterator[Rig]:
    with chaos_rig(tmp_path, slow_llm) as rig:
        yield rig


def second_api(rig: Rig) -> Stack:
    """Another `expense-bot api`, as on a second host: its own port, processes and pools."""
    stack = rig.stack
    assert stack.workdir is not None
    port = free_port()
    args = ["api", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    stack.procs.start("api-b", args, stack.env, Path(stack.workdir))
    other = dataclasses.replace(stack, api=f"http://127.0.0.1:{port}")

    def healthy() -> bool:
        try:
            return httpx.get(f"{other.api}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, timeout=60, what="the second API")
    return other


def second_worker(rig: Rig) -> None:
    """Another `expense-bot worker` without beat, as `docker compose up --scale worker=2`."""
    stack = rig.stack
    assert stack.workdir is not None
    env = {**stack.env, "WORKER_METRICS_PORT": str(free_port())}
    args = ["worker", "--concurrency", "8"]
    stack.procs.start("worker-b", args, env, Path(stack.workdir))
    wait_for(lambda: "ready." in rig.log("worker-b"), timeout=60, what="the second worker")


def test_two_apis_and_two_workers_double_nothing(rig: Rig) -> None:
    first = rig.stack
    second = second_api(rig)
    second_worker(rig)
    apis = (first, second)
    submitters = add_submitters(first, SUBMITTERS)
    bodies = burst_bodies("Scale", EXPENSES, HUMAN_EVERY)

    # Each expense is sent to both APIs at once under one Idempotency-Key: one expense each.
    answers = Answers()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [
            [pool.submit(api.submit, submitters[n % SUBMITTERS], body, key) for api in apis]
            for n, body, key in ((n, b, unique_key()) for n, b in enumerate(bodies))
        ]
        for pair in futures:
            responses = [f.result() for f in pair]
            assert [r.status_code for r in responses] == [202, 202], responses[0].text
            assert len({r.json()["id"] for r in responses}) == 1
            answers.add(responses[0])
    found = wait_settled(first, answers.accepted, timeout=120)
    assert len(found.expenses) == EXPENSES

    # Bob clicks Approve on each card twice, once through each API, at the same moment.
    pending = [eid for eid, (status, _) in found.expenses.items() if status == "pending_approval"]
    assert len(pending) == EXPENSES // HUMAN_EVERY
    payloads = [
        (api, api.click_payload("U0BOB", first.fresh_card(eid), ActionId.APPROVE))
        for eid in pending
        for api in apis
    ]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        acks = list(pool.map(lambda job: job[0].post_signed(job[1]).status_code, payloads))
    assert acks == [200] * len(payloads)

    wait_settled(first, answers.accepted, timeout=90)
    wait_idle_broker(rig.broker(), first.env["CELERY_QUEUE"])
    found = wait_settled(first, answers.accepted, timeout=30)
    assert_consistent(first, answers.accepted, found)
    assert {status for status, _ in found.expenses.values()} == {"approved"}
    # The losing click of each pair is told, privately, that Bob already approved.
    # Wait for all of them: the first few answers arriving must not end the wait.
    wait_for(
        lambda: len(first.ephemerals("U0BOB")) >= len(pending),
        what="every late click to be answered",
    )
    told = [t for t in first.ephemerals("U0BOB") if t.startswith("Already approved")]
    assert len(told) == len(pending), [t for t in first.ephemerals("U0BOB") if t not in told]
    assert len(first.ephemerals("U0BOB")) == len(pending)

    # Both workers took jobs, and only the one with --beat scheduled the sweeper.
    for name in ("worker", "worker-b"):
        assert "evaluate_expense[" in rig.log(name), f"{name} evaluated nothing"
        alive(first.procs.by_name[name], lambda n=name: rig.log(n))  # type: ignore[misc]
    assert BEAT_SENDS in rig.log("worker")
    assert BEAT_SENDS not in rig.log("worker-b")
