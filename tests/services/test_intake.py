"""Intake's transaction: the expense and its chained audit event commit together, in one go."""

import pytest
from sqlalchemy import delete, func, select, text

from app.db import Database
from app.services import audit, intake
from app.services.audit_verify import verify
from app.services.employees import create_token, hash_token
from models import AuditChainHead, AuditEvent, Employee, Expense
from tests.conftest import JobRecorder
from tests.factories import new_expense, person


def token_for(db: Database, employee: Employee) -> str:
    with db.session() as session:
        return hash_token(create_token(session, employee))


def counts(db: Database) -> tuple[int, int]:
    with db.session() as session:
        expenses = session.scalar(select(func.count()).select_from(Expense))
        events = session.scalar(select(func.count()).select_from(AuditEvent))
        return int(expenses or 0), int(events or 0)


def test_the_chaining_statement_commits_the_expense_with_its_event(
    own_db: Database, jobs: JobRecorder
) -> None:
    token = token_for(own_db, person(own_db))
    before = counts(own_db)
    ids = []
    for _ in range(3):
        with own_db.session() as session:
            submitted = intake.submit_for_token(session, token, new_expense(), None)
            assert submitted is not None
            audit.commit_with_chain(session)
            ids.append(submitted.id)
    assert counts(own_db) == (before[0] + 3, before[1] + 3)
    assert [job.args for job in jobs.jobs] == [(str(i),) for i in ids]
    assert verify(own_db.engine).problem is None


def test_when_the_event_cannot_be_chained_the_expense_is_not_stored_either(
    own_db: Database, jobs: JobRecorder
) -> None:
    token = token_for(own_db, person(own_db))
    before = counts(own_db)
    with own_db.session() as session:
        session.execute(text("SET LOCAL session_replication_role = replica"))  # past its guard
        session.execute(delete(AuditChainHead))

    def submit() -> None:
        with own_db.session() as session:
            assert intake.submit_for_token(session, token, new_expense(), None) is not None
            audit.commit_with_chain(session)

    with pytest.raises(RuntimeError, match="chain head is missing"):
        submit()
    assert counts(own_db) == before
    assert jobs.jobs == []


def test_a_revoked_or_unknown_token_stores_nothing(own_db: Database) -> None:
    with own_db.session() as session:
        assert intake.submit_for_token(session, "0" * 64, new_expense(), None) is None
    assert counts(own_db)[0] == 0
