"""The worker survives a Redis restart, and a fatal error makes it exit non-zero.

The tests here own a redis-server and a PostgreSQL cluster on free ports, so stopping them
disturbs nobody else.

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

import pytest
import redis

from bench.standins.server import ServerThread
from tests.e2e.chaos import (
    UNACKED,
    Answers,
    assert_consistent,
    burst_bodies,
    submit_all,
    wait_idle_broker,
    wait_settled,
)
from tests.e2e.conftest import own_postgres, own_postgres_stack
from tests.e2e.harness import Stack, expense_body, wait_for
from tests.standins.redis_server import RedisServer

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 5.0


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
    with own_postgres() as postgres:
        tmp = tmp_path_factory.mktemp("faults")
        yield from own_postgres_stack(postgres, tmp, openai_standin, own_redis.url)


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


def test_redis_restart_mid_burst_loses_and_doubles_nothing(
    fault_stack: Stack, own_redis: RedisServer
) -> None:
    stack = fault_stack
    answers = Answers()
    # Half are routine (auto-approved, then a DM), half need a human (a card).
    bodies = burst_bodies("Chaos", 24, human_every=2)

    # A third of the burst before the outage, a third during it, a third after.
    submit_all(stack, ["alice"], bodies[:8], answers, threads=1)
    own_redis.stop()
    down_since = time.monotonic()
    submit_all(stack, ["alice"], bodies[8:16], answers, threads=1)
    threading.Event().wait(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
    own_redis.start()
    submit_all(stack, ["alice"], bodies[16:], answers, threads=1)

    # Every 202 has its row, and nothing was refused for want of a broker.
    assert answers.codes == {202: 24}
    wait_settled(stack, answers.accepted, timeout=120)
    # Nothing is still queued or held: no late duplicate can land after these checks.
    wait_idle_broker(broker(own_redis), stack.env["CELERY_QUEUE"])
    found = wait_settled(stack, answers.accepted, timeout=30)
    assert_consistent(stack, answers.accepted, found)
    statuses = Counter(found.expenses[eid][0] for eid in answers.accepted)
    assert statuses == {"approved": 12, "pending_approval": 12}
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
