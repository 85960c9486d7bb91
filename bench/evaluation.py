"""Decisions per second of one worker process, beside a prefork baseline, with and without an LLM.

Run: python -m bench.evaluation. The OpenAI stand-in answers every review after LLM_LATENCY
seconds. Expenses are routine, so each is auto-approved once its review returns (without an LLM
each goes to a human). Every run has a queue of its own, so no run inherits another's follow-ups.
"""

import secrets
import time

from celery import Celery
from sqlalchemy import func, select

from app.db import Database
from app.job_names import EVALUATE_EXPENSE
from bench.common import Bench, running_api, submit_as_alice
from bench.standins.openai_standin import EXPECTED_KEY, create_openai_standin
from bench.standins.server import ServerThread
from models import Expense

LLM_LATENCY = 1.0
BASELINE = ("prefork", 2)
OURS = ("threads", 128)
# (label, (pool, concurrency), LLM on, expenses)
RUNS = (
    ("prefork baseline", BASELINE, True, 24),
    ("this worker", OURS, True, 1000),
    ("this worker, no LLM", OURS, False, 1000),
)


def decide(bench: Bench, db: Database, queue: str, count: int, tag: str) -> float:
    """Submit `count` expenses, queue their evaluations, return seconds until all are decided."""
    celery = Celery(broker=bench.env["CELERY_BROKER_URL"])
    ids = submit_as_alice(db, ["45.00"] * count, tag)
    started = time.perf_counter()
    for expense_id in ids:
        celery.send_task(EVALUATE_EXPENSE, args=[str(expense_id)], queue=queue)
    while True:
        with db.session() as session:
            left = session.scalar(
                select(func.count())
                .select_from(Expense)
                .where(Expense.id.in_(ids), Expense.status == "submitted")
            )
        if left == 0:
            return time.perf_counter() - started
        time.sleep(0.05)


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
        for label, (pool, concurrency), with_llm, count in RUNS:
            queue = f"bench-{secrets.token_hex(4)}"
            worker = bench.start_worker(
                concurrency,
                pool=pool,
                CELERY_QUEUE=queue,
                LLM_REVIEW="true" if with_llm else "false",
            )
            try:
                seconds = decide(bench, db, queue, count, secrets.token_hex(3))
            finally:
                worker.terminate()
                worker.wait(timeout=60)
            rates[label] = count / seconds
            print(
                f"{label:<22} pool={pool:<8} concurrency={concurrency:<4} expenses={count:<5} "
                f"{seconds:6.2f}s {rates[label]:7.2f} decisions/s "
                f"(LLM {f'{LLM_LATENCY}s' if with_llm else 'off'})"
            )
        ratio = rates["this worker"] / rates["prefork baseline"]
        print(f"this worker / prefork baseline, both with the LLM: {ratio:.1f}x")
        db.dispose()


if __name__ == "__main__":
    main()
