"""A worker killed mid-task loses no expense and doubles nothing: the sweeper re-queues it."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import sweeping_stack
from tests.e2e.harness import Stack, expense_body, wait_for
from tests.standins.server import ServerThread

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def crash_stack(
    tmp_path_factory: pytest.TempPathFactory,
    openai_standin: ServerThread,
    postgres_url: str,
    redis_url: str,
) -> Iterator[Stack]:
    yield from sweeping_stack(
        tmp_path_factory.mktemp("crash"), openai_standin, postgres_url, redis_url
    )


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
    done = stack.wait_status(expense_id, "pending_approval", timeout=60)
    stack.card(expense_id)
    time.sleep(3)  # a duplicate post, if any, would land in this window
    routed = [e for e in done["history"] if e["action"] == "routed_to_human"]
    assert len(routed) == 1
    assert len(stack.messages(f"card:{expense_id}")) == 1
