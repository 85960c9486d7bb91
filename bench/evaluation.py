"""Evaluation throughput with a slow LLM: worker concurrency sized to latency vs one at a time.

Run: python -m bench.evaluation. The OpenAI stand-in answers every review after LLM_LATENCY
seconds; expenses are routine, so each is auto-approved once its review returns.
"""

import time

from sqlalchemy import func, select

from app.db import Database
from app.settings import Settings
from bench.common import running_api, submit_as_alice
from models import Expense
from tasks.celery_app import make_celery
from tests.standins.openai_standin import EXPECTED_KEY, create_openai_standin
from tests.standins.server import ServerThread

LLM_LATENCY = 0.5
RUNS = ((1, 8), (16, 64))  # (worker threads, expenses)


def evaluate_batch(bench_env: dict[str, str], db: Database, count: int, tag: str) -> float:
    """Submit `count` expenses, send their jobs, return seconds until all are decided."""
    celery = make_celery(
        Settings(
            _env_file=None,
            app_env="development",
            celery_broker_url=bench_env["CELERY_BROKER_URL"],
            celery_queue=bench_env["CELERY_QUEUE"],
        )
    )
    ids = submit_as_alice(db, ["45.00"] * count, tag)
    started = time.perf_counter()
    for expense_id in ids:
        celery.send_task("tasks.evaluation.evaluate_expense", args=[str(expense_id)])
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
        for threads, count in RUNS:
            worker = bench.start_worker(threads)
            try:
                seconds = evaluate_batch(bench.env, db, count, f"c{threads}")
            finally:
                worker.terminate()
                worker.wait(timeout=30)
            rates[threads] = count / seconds
            print(
                f"worker threads={threads:<3} expenses={count:<4} {seconds:6.2f}s "
                f"{rates[threads]:6.2f} evaluations/s (LLM latency {LLM_LATENCY}s)"
            )
        low, high = RUNS[0][0], RUNS[-1][0]
        print(f"throughput ratio {high} threads / {low} thread = {rates[high] / rates[low]:.1f}x")
        db.dispose()


if __name__ == "__main__":
    main()
