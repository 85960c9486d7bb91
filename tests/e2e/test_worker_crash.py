"""A worker killed mid-task loses no expense and doubles nothing: the sweeper re-queues it."""

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.standins.server import ServerThread
from tests.e2e.conftest import sweeping_stack
from tests.e2e.harness import Stack, expense_body, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def crash_stack(
    tmp_path_factory: pytest.TempPathFactory,
    openai_standin: ServerThread,
    redis_url: str,
) -> Iterator[Stack]:
    yield from sweeping_stack(tmp_path_factory.mktemp("crash"), openai_standin, redis_url)


def test_worker_killed_during_llm_call(crash_stack: Stack, openai_standin: ServerThread) -> None:
    stack = crash_stack
    merchant = "Crash Co LLM-SLOW"
    requests: list[dict[str, object]] = openai_standin.app.state.requests
    expense_id = stack.submit_ok("alice", expense_body(amount="1500.00", merchant=merchant))
    wait_for(lambda: any(merchant in str(r) for r in requests), what="the LLM call")
    stack.procs.kill("worker")
    assert stack.expense(expense_id)["status"] == "submitted"
    assert stack.workdir is not None
    stack.procs.start(
        "worker", ["worker", "--concurrency", "4", "--beat"], stack.env, Path(stack.workdir)
    )
    # Back within STUCK_AFTER (10 s) + a sweep (2 s) + the slow LLM (4 s) + start-up, where the
    # broker alone would redeliver only after its visibility timeout (an hour).
    done = stack.wait_status(expense_id, "pending_approval", timeout=30)
    stack.card(expense_id)
    time.sleep(3)  # a duplicate post, if any, would land in this window
    routed = [e for e in done["history"] if e["action"] == "routed_to_human"]
    assert len(routed) == 1
    assert len(stack.messages(f"card:{expense_id}")) == 1


def worker_log(stack: Stack) -> str:
    assert stack.workdir is not None
    return (Path(stack.workdir) / "worker.log").read_text()


def test_cards_waiting_for_their_pacing_slot_are_not_swept(crash_stack: Stack) -> None:
    """A burst to one channel waits up to a second per card, far past STUCK_AFTER_SECONDS."""
    stack = crash_stack
    cards = 25
    seen = len(worker_log(stack))
    ids = [
        stack.submit_ok("alice", expense_body(amount=f"{2000 + n}.00", merchant=f"Burst {n}"))
        for n in range(cards)
    ]
    for expense_id in ids:
        wait_for(
            lambda eid=expense_id: stack.messages(f"card:{eid}:"),  # type: ignore[misc]
            timeout=120,
            what=f"card for {expense_id}",
        )
    log = worker_log(stack)[seen:]
    # Every delivery of the card task: first runs, pacing retries and sweeper re-queues.
    runs = len(re.findall(r"post_approval_card\[[0-9a-f-]+\] received", log))
    swept = sum(
        int(n) for n in re.findall(r"sweep_stuck\[[0-9a-f-]+\] succeeded in \S+: (\d+)", log)
    )
    assert (swept, runs <= 2 * cards) == (0, True), f"{runs} runs, {swept} re-queued as stuck"
    assert all(len(stack.messages(f"card:{eid}:")) == 1 for eid in ids)
