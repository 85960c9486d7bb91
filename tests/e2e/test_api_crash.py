"""An API process killed right after acking clicks loses none of them and doubles none.

The API only stores each click (with the decision it asks for) and acks; a worker applies it.
Here the worker is down while the clicks come, the API dies right after acking them, and the
broker loses whatever jobs the API had queued: the stored clicks alone must bring every decision
about, once, when a worker comes back.
"""

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from bench.standins.server import ServerThread
from models import AuditEvent, Decision, SlackRequestReceipt
from slack.ids import ActionId
from tests.e2e.chaos import Rig, assert_consistent, chaos_rig, wait_idle_broker, wait_settled
from tests.e2e.harness import expense_body, wait_for

pytestmark = pytest.mark.e2e
CLICKS = 15


@pytest.fixture
def rig(tmp_path: Path, openai_standin: ServerThread) -> Iterator[Rig]:
    with chaos_rig(tmp_path, openai_standin) as rig:
        yield rig


def counts(engine: Engine, expense_ids: list[str]) -> tuple[int, int, int]:
    with engine.connect() as conn:
        decisions = conn.scalar(
            select(func.count()).select_from(Decision).where(Decision.expense_id.in_(expense_ids))
        )
        approvals = conn.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.expense_id.in_(expense_ids), AuditEvent.action == "approved")
        )
        unapplied = conn.scalar(
            select(func.count())
            .select_from(SlackRequestReceipt)
            .where(
                SlackRequestReceipt.decision_request.is_not(None),
                SlackRequestReceipt.processed_at.is_(None),
            )
        )
    return int(decisions or 0), int(approvals or 0), int(unapplied or 0)


def test_acked_clicks_survive_the_api_dying(rig: Rig) -> None:
    stack = rig.stack
    ids = [
        stack.submit_ok("alice", expense_body(amount=f"{1200 + n}.00", merchant=f"Acked {n}"))
        for n in range(CLICKS)
    ]
    payloads = [stack.click_payload("U0BOB", stack.card(i), ActionId.APPROVE) for i in ids]
    stack.procs.kill("worker")
    with concurrent.futures.ThreadPoolExecutor(CLICKS) as pool:
        answers = list(pool.map(lambda p: stack.post_signed(p).status_code, payloads))
    assert answers == [200] * CLICKS  # Slack has its acks: from here on, nothing may be lost
    stack.procs.kill("api")
    rig.broker().delete(stack.env["CELERY_QUEUE"])  # and the jobs the API had queued are gone
    engine = create_engine(stack.env["DATABASE_URL"])
    try:
        assert counts(engine, ids) == (0, 0, CLICKS)  # stored, none applied yet
        # A worker comes back; its sweeper finds the stored clicks and applies each one, once.
        rig.restart_worker()
        wait_for(lambda: counts(engine, ids)[0] == CLICKS, timeout=90, what="every click applied")
        assert counts(engine, ids) == (CLICKS, CLICKS, 0)
    finally:
        engine.dispose()
    # Then each card is redrawn without buttons and Alice is told, once.
    wait_settled(stack, ids, timeout=60)
    wait_idle_broker(rig.broker(), stack.env["CELERY_QUEUE"])
    found = wait_settled(stack, ids, timeout=30)
    assert_consistent(stack, ids, found)
    assert {status for status, _step in found.expenses.values()} == {"approved"}
    assert stack.state()["ephemerals"] == []  # nobody was told a click came too late
