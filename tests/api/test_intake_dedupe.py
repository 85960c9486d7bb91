"""Idempotency-Key on POST /expenses: a retry gets its original, once, even when retries race."""

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.db import Database
from app.domain.history import receipt_sha256
from app.services import intake
from app.services.employees import hash_token
from app.services.expenses import NewExpense
from app.services.intake import Submitted
from models import AuditEvent, Expense
from tests.api.helpers import Person
from tests.conftest import JobRecorder
from tests.helpers import expense_body


def stored_for(db: Database, submitter: Person) -> tuple[int, int]:
    """(expenses, audit events about them) of this submitter."""
    with db.session() as session:
        ids = session.scalars(select(Expense.id).where(Expense.submitter_id == submitter.id)).all()
        events = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.expense_id.in_(ids))
        )
        return len(ids), int(events or 0)


def test_a_retry_with_the_same_key_and_body_gets_the_same_expense(
    client: TestClient, person: Callable[..., Person], db: Database, jobs: JobRecorder
) -> None:
    alice = person()
    headers = {**alice.auth, "Idempotency-Key": "trip-" + alice.slack_id}
    body = expense_body()
    first = client.post("/expenses", json=body, headers=headers)
    again = client.post("/expenses", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert stored_for(db, alice) == (1, 1)
    assert [job.args for job in jobs.jobs] == [(first.json()["id"],)]


def test_the_same_key_with_another_body_is_a_conflict(
    client: TestClient, person: Callable[..., Person], db: Database
) -> None:
    alice = person()
    headers = {**alice.auth, "Idempotency-Key": "k1"}
    assert client.post("/expenses", json=expense_body(), headers=headers).status_code == 202
    other = client.post("/expenses", json=expense_body(amount="99.00"), headers=headers)
    assert other.status_code == 409, other.text
    assert stored_for(db, alice) == (1, 1)


def test_keys_are_per_submitter_and_requests_without_a_key_are_never_merged(
    client: TestClient, person: Callable[..., Person], db: Database
) -> None:
    alice, bob = person(), person()
    for who in (alice, bob):
        headers = {**who.auth, "Idempotency-Key": "shared-key"}
        assert client.post("/expenses", json=expense_body(), headers=headers).status_code == 202
    for _ in range(2):
        assert client.post("/expenses", json=expense_body(), headers=bob.auth).status_code == 202
    assert stored_for(db, alice) == (1, 1)
    assert stored_for(db, bob) == (3, 3)


def test_racing_retries_store_one_expense(
    person: Callable[..., Person], db: Database, jobs: JobRecorder
) -> None:
    alice = person()
    data = NewExpense(Decimal("12.00"), "USD", "travel", "Rail", "Train", datetime.now(UTC).date())
    racers = 8
    start = threading.Barrier(racers)
    results: list[Submitted | None] = []
    key = uuid.uuid4().hex

    def submit() -> None:
        start.wait()
        with db.session() as session:
            results.append(intake.submit_for_token(session, hash_token(alice.token), data, key))

    threads = [threading.Thread(target=submit) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == racers
    assert len({r.id for r in results if r is not None}) == 1
    assert sorted(r.created for r in results if r is not None) == [False] * (racers - 1) + [True]
    assert stored_for(db, alice) == (1, 1)
    assert len(jobs.jobs) == 1


def test_a_receipt_link_is_stored_as_the_key_the_duplicate_rule_compares(
    client: TestClient, person: Callable[..., Person], db: Database
) -> None:
    alice, bob = person(), person()
    body = expense_body(receipt_url="https://files.example/shared-receipt.pdf")
    ids = [
        client.post("/expenses", json=body, headers=who.auth).json()["id"] for who in (alice, bob)
    ]
    with db.session() as session:
        keys = [session.get(Expense, uuid.UUID(i)).receipt_sha256 for i in ids]  # type: ignore[union-attr]
    assert keys[0] == receipt_sha256("https://files.example/shared-receipt.pdf")
    assert keys[0] == keys[1]
