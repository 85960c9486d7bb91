"""PostgreSQL restarts under load, fast and immediate (a crash), on the same port.

While it is away the API answers 503 with Retry-After in the problem shape, quickly, and
changes nothing; afterwards it recovers by itself, the worker (which stays up) finishes
everything accepted before, and nothing is doubled.
"""

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.standins.server import ServerThread
from tests.e2e.chaos import (
    Answers,
    Rig,
    add_submitters,
    alive,
    assert_consistent,
    burst_bodies,
    chaos_rig,
    evaluated,
    submit_all,
    wait_idle_broker,
    wait_settled,
)
from tests.e2e.harness import Stack, expense_body, wait_for
from tests.standins.postgres_server import StopMode

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 5.0
BEFORE = 30
AFTER = 20
SUBMITTERS = 5
HUMAN_EVERY = 5
# An answer during the outage must come at once: a client must not hang on a dead database.
PROMPT_SECONDS = 3.0


@pytest.fixture
def rig(tmp_path: Path, slow_llm: ServerThread) -> Iterator[Rig]:
    with chaos_rig(tmp_path, slow_llm) as rig:
        yield rig


@dataclass
class Probe:
    status: int
    content_type: str
    retry_after: str | None
    seconds: float
    body: str


def probe(stack: Stack, who: str, n: int) -> Probe:
    started = time.monotonic()
    response = stack.submit(who, expense_body(amount="30.00", merchant=f"Outage {n}"))
    return Probe(
        response.status_code,
        response.headers.get("content-type", ""),
        response.headers.get("retry-after"),
        time.monotonic() - started,
        response.text,
    )


def ready(stack: Stack) -> int:
    return httpx.get(f"{stack.api}/readyz", timeout=PROMPT_SECONDS * 2).status_code


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restart_under_load(rig: Rig, mode: StopMode) -> None:
    stack = rig.stack
    submitters = add_submitters(stack, SUBMITTERS)
    answers = Answers()
    submit_all(stack, submitters, burst_bodies(f"Before {mode}", BEFORE, HUMAN_EVERY), answers)
    assert answers.codes == {202: BEFORE}
    # The worker is mid-way: some expenses decided, LLM calls and Slack posts in flight.
    wait_for(
        lambda: evaluated(stack) >= 8,
        what="work under way",
    )

    # Intake keeps coming while the database goes: each answer is a 202 or a 503.
    racing = Answers()
    stop_racing = threading.Event()

    def race() -> None:
        n = 0
        while not stop_racing.is_set():
            n += 1
            body = expense_body(amount="31.00", merchant=f"Racing {n}")
            racing.add(stack.submit(submitters[n % SUBMITTERS], body))

    racer = threading.Thread(target=race)
    racer.start()
    try:
        rig.postgres.stop(mode)
        down_until = time.monotonic() + OUTAGE_SECONDS
        probes: list[Probe] = []
        while time.monotonic() < down_until:
            probes.append(probe(stack, submitters[0], len(probes)))
            assert ready(stack) == 503
        rig.postgres.start()
    finally:
        stop_racing.set()
        racer.join()
    # Nothing else needed: the first requests after the restart are accepted.
    submit_all(stack, submitters, burst_bodies(f"After {mode}", AFTER, HUMAN_EVERY), answers)
    assert answers.codes == {202: BEFORE + AFTER}
    assert ready(stack) == 200

    assert len(probes) >= 5
    for answer in probes:
        assert answer.status == 503, answer.body
        assert answer.content_type == "application/problem+json"
        assert answer.retry_after is not None
        assert int(answer.retry_after) > 0
        assert answer.seconds < PROMPT_SECONDS, answer
        assert '"status":503' in answer.body.replace(" ", "")
    assert set(racing.codes) <= {202, 503}, racing.codes

    accepted = answers.accepted + racing.accepted
    wait_settled(stack, accepted, timeout=120)
    wait_idle_broker(rig.broker(), stack.env["CELERY_QUEUE"])
    found = wait_settled(stack, accepted, timeout=30)
    assert_consistent(stack, accepted, found)
    # A 503 may still have committed (the answer was lost, not the row), never the other way.
    assert len(found.expenses) <= BEFORE + AFTER + sum(racing.codes.values())
    alive(stack.procs.by_name["worker"], lambda: rig.log("worker"))
    alive(stack.procs.by_name["api"], lambda: rig.log("api"))
    # Each task that met the outage backed off and retried; none gave up on it. (The sweeper
    # is periodic: a failed sweep is simply run again at its next beat.)
    gave_up = [
        line
        for line in rig.log("worker").splitlines()
        if "raised unexpected: OperationalError" in line and "sweep_stuck" not in line
    ]
    assert gave_up == []
    assert "retry: Retry in" in rig.log("worker")
    # The sweeper met the outage too, and sweeps again since.
    failed = [m.end() for m in re.finditer(r"sweep_stuck\[[0-9a-f-]+\] raised", rig.log("worker"))]
    assert failed
    wait_for(
        lambda: re.search(r"sweep_stuck\[[0-9a-f-]+\] succeeded", rig.log("worker")[failed[-1] :]),
        what="a sweep after the outage",
    )
