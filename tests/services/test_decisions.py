"""Services on real PostgreSQL: after-commit jobs, racing approvers, refusals, idempotent steps."""

import threading
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select

from app import job_names
from app.db import Database
from app.domain.advice import LlmUnavailable
from app.domain.gate import route_expense
from app.domain.rules import ExpenseFacts
from app.services import decisions, evaluation, expenses
from models import AuditEvent, Decision, Employee, Expense
from tests.conftest import JobRecorder
from tests.factories import POLICY, click, new_expense, pending_expense, person


def test_jobs_leave_only_after_commit_and_never_on_rollback(
    db: Database, jobs: JobRecorder
) -> None:
    submitter = person(db)
    with db.session() as session:
        expenses.submit(session, submitter, new_expense(), None)
        assert jobs.jobs == []  # still inside the transaction
    assert jobs.names() == [job_names.EVALUATE_EXPENSE]

    def submit_then_fail() -> None:
        with db.session() as session:
            expenses.submit(session, submitter, new_expense("7.00"), None)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        submit_then_fail()
    assert jobs.names() == [job_names.EVALUATE_EXPENSE]


def test_gate_outcome_is_recorded_once(db: Database) -> None:
    submitter = person(db)
    expense_id = pending_expense(db, submitter)
    facts = ExpenseFacts(Decimal("1500.00"), "USD", "travel", True)
    advice = LlmUnavailable("again")
    with db.session() as session:
        again = evaluation.record_gate_decision(
            session, expense_id, route_expense(POLICY, facts, advice), advice, POLICY
        )
        routed = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.expense_id == expense_id, AuditEvent.action == "routed_to_human")
        )
    assert again is False
    assert routed == 1


def test_racing_approvers_make_exactly_one_decision(db: Database, jobs: JobRecorder) -> None:
    submitter = person(db)
    approvers = [person(db, "approver") for _ in range(6)]
    expense_id = pending_expense(db, submitter)
    barrier = threading.Barrier(len(approvers))
    results: list[decisions.Result] = []

    def race(approver: Employee) -> None:
        barrier.wait()
        results.append(click(db, expense_id, approver).result)

    threads = [threading.Thread(target=race, args=(a,)) for a in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(decisions.Result.DECIDED) == 1
    assert results.count(decisions.Result.ALREADY_DECIDED) == len(approvers) - 1
    with db.session() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Decision).where(Decision.expense_id == expense_id)
            )
            == 1
        )
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert expense.status == "approved"
    assert jobs.names().count(job_names.NOTIFY_SUBMITTER) == 1


def test_a_double_click_that_loses_the_race_is_already_decided_not_a_second_step(
    db: Database,
) -> None:
    submitter, approver = person(db), person(db, "approver")
    expense_id = pending_expense(db, submitter)
    assert approver.slack_user_id
    won: list[decisions.DecisionOutcome] = []

    def first_click_commits(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The first click commits after the late one saw the step open, before it reads decisions.
        if not won and "FROM decisions" in statement:
            won.append(click(db, expense_id, approver))

    with db.session() as late:
        event.listen(late.connection(), "before_cursor_execute", first_click_commits)
        outcome = decisions.decide_step(
            late,
            expense_id=expense_id,
            step=0,
            slack_user_id=approver.slack_user_id,
            verdict=decisions.Verdict.APPROVE,
        )
    assert [w.result for w in won] == [decisions.Result.DECIDED]
    assert outcome.result is decisions.Result.ALREADY_DECIDED, outcome
    with db.session() as session:
        refused = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.expense_id == expense_id, AuditEvent.action == "decision_refused")
        )
    assert refused == 0


def test_refusal_is_audited_and_changes_nothing(db: Database, jobs: JobRecorder) -> None:
    submitter = person(db, "approver")
    expense_id = pending_expense(db, submitter)
    queued = len(jobs.jobs)
    outcome = click(db, expense_id, submitter)
    assert outcome.result is decisions.Result.REFUSED
    assert len(jobs.jobs) == queued
    with db.session() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert expense.status == "pending_approval"
        refusal = session.scalar(
            select(AuditEvent).where(
                AuditEvent.expense_id == expense_id, AuditEvent.action == "decision_refused"
            )
        )
        assert refusal is not None
        assert refusal.details["code"] == "self_approval"


def test_stale_step_click_is_already_decided(db: Database) -> None:
    submitter = person(db)
    approver, finance = person(db, "approver"), person(db, "finance")
    expense_id = pending_expense(db, submitter, amount="15000.00")
    first = click(db, expense_id, approver)
    late = click(db, expense_id, finance, decisions.Verdict.REJECT, reason="late")
    assert first.result is decisions.Result.DECIDED
    assert late.result is decisions.Result.ALREADY_DECIDED
    assert late.prior is not None
    assert late.prior.verdict is decisions.Verdict.APPROVE
    assert late.prior.slack_user_id == approver.slack_user_id
