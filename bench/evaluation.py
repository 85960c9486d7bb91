"""Decisions per second of one worker process, beside a prefork baseline, with and without an LLM.

Run: python -m bench.evaluation. The OpenAI stand-in answers every review after LLM_LATENCY
seconds. Expenses are routine, so each is auto-approved once its review returns (without an LLM
each goes to a human). Every run has a queue of its own, so no run inherits another's follow-ups.
"""

import secrets
import time
import uuid

from celery import Celery
from sqlalchemy import func, select

from app.db import Database
from app.job_names import EVALUATE_EXPENSE, EVALUATE_EXPENSES
from bench.common import Bench, running_api, submit_as_alice
from bench.standins.openai_standin import EXPECTED_KEY, create_openai_standin
from bench.standins.server import ServerThread
from models import Expense

LLM_LATENCY = 1.0
BASELINE = ("prefork", 2)
OURS = ("threads", 128)
# The API's job relay sends the evaluations it gathers in a moment as one message.
BATCH = 20
# (label, (pool, concurrency), LLM on, expenses, expenses per message)
RUNS = (
    ("prefork baseline", BASELINE, True, 24, 1),
    ("this worker", OURS, True, 1000, 1),
    ("this worker, batched", OURS, True, 1000, BATCH),
    ("this worker, no LLM", OURS, False, 1000, 1),
)


def decide(
    bench: Bench, db: Database, queue: str, count: int, batch: int, tag: str
) -> tuple[float, str]:
    """Submit `count` expenses, queue their evaluations `batch` to a message; seconds until all
    are decided, and how they ended."""
    celery = Celery(broker=bench.env["CELERY_BROKER_URL"])
    ids = submit_as_alice(db, ["45.00"] * count, tag)
    started = time.perf_counter()
    for n in range(0, count, batch):
        some = [str(i) for i in ids[n : n + batch]]
        if batch == 1:
            celery.send_task(EVALUATE_EXPENSE, args=some, queue=queue)
        else:
            celery.send_task(EVALUATE_EXPENSES, args=[some], queue=queue)
    while True:
        with db.session() as session:
            left = session.scalar(
                select(func.count())
                .select_from(Expense)
                .where(Expense.id.in_(ids), Expense.status == "submitted")
            )
        if left == 0:
            return time.perf_counter() - started, outcomes(db, ids)
        time.sleep(0.05)


def outcomes(db: Database, ids: list[uuid.UUID]) -> str:
    """How the expenses ended, so a rate is never read off the wrong path."""
    with db.session() as session:
        rows = session.execute(
            select(Expense.status, func.count()).where(Expense.id.in_(ids)).group_by(Expense.status)
        ).all()
    return ", ".join(f"{status} {n}" for status, n in sorted(rows))


def main() -> None:
    with (
        ServerThread(create_openai_standin(delay_seconds=LLM_LATENCY)) as llm,
        running_api(
            OPENAI_BASE_URL=f"{llm.url}/v1",
            OPENAI_API_KEY=EXPECTED_KEY,
            OPENAI_MODEL="bench",
            OPENAI_TIMEOUT_SECONDS="10",
        ) as bench,
    ):
        db = Database(bench.database_url, job_sender=lambda _jobs: None)
        rates = {}
        for label, (pool, concurrency), with_llm, count, batch in RUNS:
            queue = f"bench-{secrets.token_hex(4)}"
            worker = bench.start_worker(
                concurrency,
                pool=pool,
                CELERY_QUEUE=queue,
                LLM_REVIEW="true" if with_llm else "false",
            )
            try:
                seconds, ended = decide(bench, db, queue, count, batch, secrets.token_hex(3))
            finally:
                worker.terminate()
                worker.wait(timeout=60)
            rates[label] = count / seconds
            print(
                f"{label:<22} pool={pool:<8} concurrency={concurrency:<4} expenses={count:<5} "
                f"per message={batch:<3} "
                f"{seconds:6.2f}s {rates[label]:7.2f} decisions/s "
                f"(LLM {f'{LLM_LATENCY}s' if with_llm else 'off'}; {ended})"
            )
        for label in ("this worker", "this worker, batched"):
            ratio = rates[label] / rates["prefork baseline"]
            print(f"{label} / prefork baseline, both with the LLM: {ratio:.1f}x")
        db.dispose()


if __name__ == "__main__":
    main()
