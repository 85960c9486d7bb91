"""The worker is killed (SIGKILL) three times during a burst of 150 expenses with a 1 s LLM.

Each kill strands the jobs the worker held: the sweeper re-queues their expenses once quiet
for 10 s, and Redis hands the originals back after its visibility timeout. Both copies run;
the work must land exactly once.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.standins.server import ServerThread
from tests.e2e.chaos import (
    Answers,
    Rig,
    add_submitters,
    alive,
    approve_cards,
    assert_consistent,
    burst_bodies,
    chaos_rig,
    evaluated,
    hand_back_unacked,
    snapshot,
    submit_all,
    wait_idle_broker,
    wait_settled,
)
from tests.e2e.harness import wait_for

pytestmark = pytest.mark.e2e

EXPENSES = 150
KILLS = 3
# Ten DM channels take the 135 routine outcomes at one message a second each; the 15 cards
# share the approvals channel.
SUBMITTERS = 10
HUMAN_EVERY = 10


@pytest.fixture
def rig(tmp_path: Path, slow_llm: ServerThread) -> Iterator[Rig]:
    with chaos_rig(tmp_path, slow_llm) as rig:
        yield rig


def test_worker_killed_three_times_during_a_burst(rig: Rig) -> None:
    stack = rig.stack
    broker = rig.broker()
    submitters = add_submitters(stack, SUBMITTERS)
    answers = Answers()
    bodies = burst_bodies("Kill", EXPENSES, HUMAN_EVERY)
    # The burst comes in waves, a kill in the middle of each but the last.
    wave = EXPENSES // (KILLS + 1)
    clicked: list[str] = []
    for kill in range(1, KILLS + 1):
        submit_all(stack, submitters, bodies[(kill - 1) * wave : kill * wave], answers)
        # Mid-wave: part of it decided, part held by the worker (taken, not yet acked).
        target = kill * wave - wave // 2
        wait_for(lambda t=target: evaluated(stack) >= t, what=f"{target} evaluated")  # type: ignore[misc]
        if kill > 1:
            # Cards from earlier waves are out: approve them, so the kill meets their
            # follow-up jobs (card update, the submitter's DM) too.
            wait_for(lambda: snapshot(stack).buttons, timeout=60, what="a card to approve")
            approve_cards(stack, snapshot(stack), clicked)
        wait_for(lambda: broker.hlen("unacked") > 0, what="jobs held by the worker")
        stack.procs.kill("worker")
        rig.restart_worker()
    submit_all(stack, submitters, bodies[KILLS * wave :], answers)
    assert answers.codes == {202: EXPENSES}
    assert clicked

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
    assert len(found.expenses) == EXPENSES
    statuses = [status for status, _step in found.expenses.values()]
    assert statuses.count("approved") == EXPENSES - EXPENSES // HUMAN_EVERY + len(clicked)
    assert statuses.count("pending_approval") == EXPENSES // HUMAN_EVERY - len(clicked)
    alive(stack.procs.by_name["worker"], lambda: rig.log("worker"))
