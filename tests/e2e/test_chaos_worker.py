"""The worker is killed (SIGKILL) three times during a burst of 150 expenses with a 1 s LLM.

Each kill strands the jobs the worker held: the sweeper re-queues their expenses once quiet
for 10 s, and Redis hands the originals back after its visibility timeout. Both copies run;
the work must land exactly once.
"""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from models import Expense
from tests.e2e.chaos import (
    Answers,
    Rig,
    add_submitters,
    alive,
    approve_cards,
    assert_consistent,
    burst_bodies,
    chaos_rig,
    hand_back_unacked,
    snapshot,
    submit_all,
    wait_idle_broker,
    wait_settled,
)
from tests.e2e.harness import wait_for
from tests.standins.openai_standin import create_openai_standin
from tests.standins.server import ServerThread

pytestmark = pytest.mark.e2e

EXPENSES = 150
KILLS = 3
# Ten DM channels take the 135 routine outcomes at one message a second each; the 15 cards
# share the approvals channel.
SUBMITTERS = 10
HUMAN_EVERY = 10


@pytest.fixture(scope="module")
def slow_llm() -> Iterator[ServerThread]:
    with ServerThread(create_openai_standin(delay_seconds=1.0)) as server:
        yield server


@pytest.fixture
def rig(tmp_path: Path, slow_llm: ServerThread) -> Iterator[Rig]:
    with chaos_rig(tmp_path, slow_llm, OPENAI_TIMEOUT_SECONDS="10") as rig:
        yield rig


def evaluated(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            count = conn.scalar(
                select(func.count()).select_from(Expense).where(Expense.status != "submitted")
            )
        return int(count or 0)
    finally:
        engine.dispose()


def test_worker_killed_three_times_during_a_burst(rig: Rig) -> None:
    stack = rig.stack
    broker = rig.broker()
    submitters = add_submitters(stack, SUBMITTERS)
    answers = Answers()
    bodies = burst_bodies("Kill", EXPENSES, HUMAN_EVERY)
    intake = threading.Thread(target=submit_all, args=(stack, submitters, bodies, answers))
    intake.start()
    clicked: list[str] = []
    try:
        for kill in range(1, KILLS + 1):
            # Each kill lands mid-burst: some work done since the last one, some still held.
            target = kill * EXPENSES // (KILLS + 1)
            wait_for(
                lambda t=target: evaluated(stack.env["DATABASE_URL"]) >= t,  # type: ignore[misc]
                timeout=120,
                what=f"{target} expenses evaluated before kill {kill}",
            )
            # Approve the cards posted so far: their follow-up jobs are in flight at the kill.
            clicked += approve_cards(stack, answers.accepted, snapshot(stack, answers.accepted))
            wait_for(lambda: broker.hlen("unacked") > 0, what="jobs held by the worker")
            stack.procs.kill("worker")
            rig.restart_worker()
    finally:
        intake.join()
    assert answers.codes == {202: EXPENSES}
    assert clicked, "no card was out before the last kill"

    wait_settled(stack, answers.accepted, timeout=180)
    # The killed workers' jobs come back, as after the visibility timeout, and find work done.
    seen = len(rig.log("worker"))
    stranded = hand_back_unacked(rig.redis_server.url)
    assert len(stranded) >= KILLS
    wait_for(
        lambda: all(f"[{task}] succeeded" in rig.log("worker")[seen:] for task in stranded),
        what="the stranded jobs to run again",
    )
    wait_idle_broker(broker, stack.env["CELERY_QUEUE"])
    found = wait_settled(stack, answers.accepted, timeout=30)
    assert_consistent(stack, answers.accepted, found)
    statuses = [status for status, _step in found.expenses.values()]
    assert statuses.count("approved") == EXPENSES - EXPENSES // HUMAN_EVERY + len(clicked)
    assert statuses.count("pending_approval") == EXPENSES // HUMAN_EVERY - len(clicked)
    alive(stack.procs.by_name["worker"], lambda: rig.log("worker"))
