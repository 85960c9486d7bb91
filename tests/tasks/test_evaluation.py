"""The evaluation tasks: a batch from the job relay evaluates each expense once, as if alone."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app import job_names
from app.db import Database
from app.domain.workflow import Status
from app.services import expenses
from app.services.employees import add_employee
from app.settings import get_settings
from models import Expense
from tasks.evaluation import evaluate_expenses
from tasks.runtime import runtime
from tests.conftest import JobRecorder


@pytest.fixture
def worker_jobs(
    monkeypatch: pytest.MonkeyPatch, own_postgres_url: str, tmp_path: Path
) -> Iterator[JobRecorder]:
    """The task's runtime on this test's database; the jobs it queues are recorded."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", own_postgres_url)
    recorder = JobRecorder()
    monkeypatch.setattr("tasks.runtime.send_jobs", recorder)
    get_settings.cache_clear()
    runtime.cache_clear()
    yield recorder
    runtime().db.dispose()
    get_settings.cache_clear()
    runtime.cache_clear()


def submitted(db: Database, amounts: list[str]) -> list[str]:
    with db.session() as session:
        tag = uuid.uuid4().hex[:8]
        employee = add_employee(session, email=f"{tag}@corp.example", name=tag)
        ids = []
        for n, amount in enumerate(amounts):
            data = expenses.NewExpense(
                Decimal(amount), "USD", "travel", f"Rail {n}", "Train", datetime.now(UTC).date()
            )
            expense, _ = expenses.submit(session, employee, data, None)
            ids.append(str(expense.id))
    return ids


def statuses(db: Database, ids: list[str]) -> list[Status]:
    with db.session() as session:
        found = dict(session.execute(select(Expense.id, Expense.status)).all())
    return [found[uuid.UUID(i)] for i in ids]


def test_a_batch_evaluates_each_expense_once(worker_jobs: JobRecorder, own_db: Database) -> None:
    ids = submitted(own_db, ["12.00", "4000.00", "30.00"])
    missing = str(uuid.uuid4())
    outcomes = evaluate_expenses([*ids, missing])
    assert outcomes[-1] == "skipped"
    assert "skipped" not in outcomes[:-1]
    assert Status.SUBMITTED not in statuses(own_db, ids)
    queued = len(worker_jobs.jobs)
    assert job_names.POST_APPROVAL_CARD in worker_jobs.names()  # the large one goes to a human
    # A redelivered batch finds the work done.
    assert evaluate_expenses(ids) == ["skipped"] * 3
    assert len(worker_jobs.jobs) == queued
