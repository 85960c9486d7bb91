"""The worker survives a Redis restart, and a fatal error makes it exit non-zero.

Each test here owns a redis-server on a free port, so stopping it disturbs nobody else.

Why a Redis restart used to stop the worker (celery 5.7.0, kombu 5.7.0, redis-py 8.1.0): on a
lost connection Celery calls `connection.collect()` and then, since celery#10242 (GH-9705), also
`connection.close()`. In collect(), closing the default channel fails at once (its pending BRPOP
read raises) and leaves it open; kombu then closes the other channels, the remote-control
(pidbox) one fails too, and the loop stops before retrying the default channel. collect() detaches
the transport anyway (`transport.client = None`). The second close finds the default channel open
with unacked messages and restores them through a pool built from `transport.client.hostname`:
AttributeError, which is no connection error, so Celery stops with "Unrecoverable error" (the
shape of kombu#582 and kombu#970). With remote control off, the default channel is the only one,
and kombu's second pass closes it. The tests below failed on most runs before that setting.
"""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.e2e.conftest import sweeping_stack
from tests.e2e.harness import Stack, expense_body, wait_for
from tests.standins.redis_server import RedisServer
from tests.standins.server import ServerThread

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 5.0
# kombu's Redis transport keeps delivered-but-unacked messages in this hash.
UNACKED = "unacked"


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def fault_stack(
    tmp_path_factory: pytest.TempPathFactory,
    openai_standin: ServerThread,
    own_redis: RedisServer,
) -> Iterator[Stack]:
    # A Redis without persistence loses its queue on restart: the sweeper must bring it back.
    yield from sweeping_stack(tmp_path_factory.mktemp("faults"), openai_standin, own_redis.url)


def broker(server: RedisServer) -> redis.Redis:
    return redis.Redis(port=server.port, socket_connect_timeout=1)


def restart(server: RedisServer) -> None:
    """The fault itself: Redis is gone for OUTAGE_SECONDS, then back on the same port."""
    server.stop()
    threading.Event().wait(OUTAGE_SECONDS)
    server.start()


def worker_log(stack: Stack) -> str:
    assert stack.workdir is not None
    return (Path(stack.workdir) / "worker.log").read_text()


def assert_worker_alive(stack: Stack) -> None:
    assert stack.procs.by_name["worker"].poll() is None, worker_log(stack)[-4000:]
    assert "Unrecoverable error" not in worker_log(stack)


def test_worker_survives_redis_restarts_with_work_in_flight(
    fault_stack: Stack, own_redis: RedisServer
) -> None:
    stack = fault_stack
    client = broker(own_redis)
    for round_ in range(3):
        # Cards to one channel wait for their pacing slot, so many messages sit unacked.
        for n in range(6):
            stack.submit_ok("alice", expense_body(amount=f"{1200 + 10 * round_ + n}.00"))
        wait_for(lambda: client.hlen(UNACKED) >= 4, what="tasks in flight")
        restart(own_redis)
        # The worker reconnects and takes new work: an expense submitted now gets its card.
        after = stack.submit_ok("alice", expense_body(amount=f"{1900 + round_}.00"))
        stack.card(after)
        assert_worker_alive(stack)


def message_keys(stack: Stack) -> Counter[str]:
    """How many Slack messages carry each dedupe key (cards, DMs, comments)."""
    found: Counter[str] = Counter()
    for message in stack.state()["messages"]:
        key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key")
        if key:
            found[key] += 1
    return found


def settled(stack: Stack, ids: list[str]) -> dict[str, dict[str, Any]] | None:
    """Every expense decided or waiting on a human, with its card or DM sent."""
    expenses = {eid: stack.expense(eid) for eid in ids}
    keys = message_keys(stack)
    for eid, expense in expenses.items():
        status = expense["status"]
        if status == "submitted":
            return None
        kind = "card" if status == "pending_approval" else "dm"
        if not any(key.startswith(f"{kind}:{eid}:") for key in keys):
            return None
    return expenses


def test_redis_restart_mid_burst_loses_and_doubles_nothing(
    fault_stack: Stack, own_redis: RedisServer
) -> None:
    stack = fault_stack
    answers: list[int] = []
    accepted: list[str] = []

    def submit(n: int) -> None:
        # Half are routine (auto-approved, then a DM), half need a human (a card).
        amount = f"{40 + n}.00" if n % 2 else f"{1500 + n}.00"
        response = stack.submit("alice", expense_body(amount=amount, merchant=f"Chaos {n}"))
        answers.append(response.status_code)
        if response.status_code == 202:
            accepted.append(str(response.json()["id"]))

    # A third of the burst before the outage, a third during it, a third after.
    for n in range(8):
        submit(n)
    own_redis.stop()
    down_since = time.monotonic()
    for n in range(8, 16):
        submit(n)
    threading.Event().wait(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
    own_redis.start()
    for n in range(16, 24):
        submit(n)

    # Every 202 has its row, and nothing was refused for want of a broker.
    assert answers == [202] * 24
    assert len(set(accepted)) == 24
    expenses = wait_for(lambda: settled(stack, accepted), timeout=120, what="the burst to settle")
    # Nothing is still queued or held: no late duplicate can land after these checks.
    client = broker(own_redis)
    queue = stack.env["CELERY_QUEUE"]
    wait_for(lambda: client.llen(queue) + client.hlen(UNACKED) == 0, what="an idle broker")

    keys = message_keys(stack)
    doubled = {key: n for key, n in keys.items() if n > 1}
    assert doubled == {}
    statuses = Counter(e["status"] for e in expenses.values())
    assert statuses["approved"] >= 1
    assert statuses["pending_approval"] >= 1
    for eid, expense in expenses.items():
        actions = Counter(e["action"] for e in expense["history"])
        assert actions["submitted"] == 1, (eid, actions)
        assert actions["llm_reviewed"] == 1, (eid, actions)
        assert actions["auto_approved"] + actions["routed_to_human"] == 1, (eid, actions)
        assert expense["decisions"] == []
        if expense["status"] == "pending_approval":
            assert [k for k in keys if k.startswith(f"card:{eid}:")] == [f"card:{eid}:0"]
        else:
            assert [k for k in keys if k.startswith(f"dm:{eid}:")] == [f"dm:{eid}:approved"]
    assert_worker_alive(stack)


def test_a_fatal_error_makes_the_worker_exit_non_zero(
    fault_stack: Stack, own_redis: RedisServer
) -> None:
    assert fault_stack.workdir is not None
    queue = "fatal-" + fault_stack.env["CELERY_QUEUE"]
    env = {**fault_stack.env, "CELERY_QUEUE": queue}
    log = fault_stack.procs.start(
        "fatal-worker", ["worker", "--concurrency", "1"], env, Path(fault_stack.workdir)
    )
    wait_for(lambda: "ready." in log.read_text(), what="the second worker")
    # A queue key of the wrong type: Redis answers BRPOP with WRONGTYPE, which no retry fixes.
    broker(own_redis).set(queue, "not a list")
    assert fault_stack.procs.wait("fatal-worker", timeout=30) != 0
    assert "Unrecoverable error" in log.read_text()
