"""The evaluation tasks: a batch from the job relay evaluates each expense once, as if alone."""

import dataclasses
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app import job_names
from app.db import Database
from app.domain.advice import Advice
from app.domain.policy import Policy
from app.domain.rules import RuleResult
from app.domain.workflow import Status
from app.llm.reviewer import DisabledReviewer, ReviewInput
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


class MeetingReviewer(DisabledReviewer):
    """Answers only once `count` reviews are waiting at the same time, as slow LLM calls are:
    a batch reviewed one expense after another never gets there."""

    def __init__(self, count: int) -> None:
        self.meeting = threading.Barrier(count, timeout=20)

    def review(self, review: ReviewInput, policy: Policy, trace: Sequence[RuleResult]) -> Advice:
        self.meeting.wait()
        return super().review(review, policy, trace)


def test_a_batch_waits_on_its_llm_calls_side_by_side_not_in_turn(
    worker_jobs: JobRecorder, own_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = submitted(own_db, ["12.00"] * 12)
    reviewer = MeetingReviewer(len(ids))
    patched = dataclasses.replace(runtime(), reviewer=reviewer)
    monkeypatch.setattr("tasks.evaluation.runtime", lambda: patched)
    assert evaluate_expenses(ids) == ["human"] * len(ids)
    assert not reviewer.meeting.broken
    assert Status.SUBMITTED not in statuses(own_db, ids)
