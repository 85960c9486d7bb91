"""Decisions recorded on Slack's ack path are applied once, by whoever gets there first."""

import threading
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from app.db import Database
from app.domain.requests import DecisionRequest, RequestKind
from app.services import decision_requests
from app.services.decisions import Result
from app.services.recovery import purge_replay_receipts
from models import Decision, SlackRequestReceipt
from models.base import utcnow
from tests.factories import pending_expense, person


def record(db: Database, request: DecisionRequest | None) -> str:
    """What the receipt guard writes before Slack gets its 200."""
    signature = "v0=" + uuid.uuid4().hex
    with db.session() as session:
        session.add(
            SlackRequestReceipt(
                signature=signature, decision_request=request.to_json() if request else None
            )
        )
    return signature


def approval(expense_id: uuid.UUID, slack_user_id: str) -> DecisionRequest:
    return DecisionRequest(RequestKind.APPROVE, expense_id, 0, slack_user_id, "C0CARDS")


def decisions_on(db: Database, expense_id: uuid.UUID) -> int:
    with db.session() as session:
        stmt = select(func.count()).select_from(Decision).where(Decision.expense_id == expense_id)
        return int(session.scalar(stmt) or 0)


def test_applied_once_however_often_it_is_tried(db: Database) -> None:
    approver = person(db, "approver")
    expense_id = pending_expense(db, person(db))
    assert approver.slack_user_id
    signature = record(db, approval(expense_id, approver.slack_user_id))
    barrier = threading.Barrier(4)
    results: list[decision_requests.Applied | None] = []

    def apply() -> None:
        barrier.wait()
        with db.session() as session:
            results.append(decision_requests.apply_request(session, signature))

    threads = [threading.Thread(target=apply) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    applied = [r for r in results if r is not None]
    assert len(applied) == 1
    assert applied[0].outcome is not None
    assert applied[0].outcome.result is Result.DECIDED
    assert decisions_on(db, expense_id) == 1


def test_unapplied_requests_are_found_and_kept_until_applied(db: Database) -> None:
    approver = person(db, "approver")
    expense_id = pending_expense(db, person(db))
    assert approver.slack_user_id
    signature = record(db, approval(expense_id, approver.slack_user_id))
    plain = record(db, None)
    old = utcnow() - timedelta(hours=1)
    with db.session() as session:
        session.execute(
            update(SlackRequestReceipt)
            .where(SlackRequestReceipt.signature.in_([signature, plain]))
            .values(received_at=old)
        )
    soon = utcnow()
    with db.session() as session:
        assert signature in decision_requests.unapplied(session, received_before=soon, limit=500)
        assert plain not in decision_requests.unapplied(session, received_before=soon, limit=500)
        purge_replay_receipts(session, before=soon)
    with db.session() as session:
        assert session.get(SlackRequestReceipt, signature) is not None  # still owed
        assert session.get(SlackRequestReceipt, plain) is None
        assert decision_requests.apply_request(session, signature) is not None
    with db.session() as session:
        assert signature not in decision_requests.unapplied(
            session, received_before=soon, limit=500
        )
        purge_replay_receipts(session, before=soon)
    with db.session() as session:
        assert session.get(SlackRequestReceipt, signature) is None


def test_a_request_for_a_vanished_expense_is_marked_done(db: Database) -> None:
    signature = record(db, approval(uuid.uuid4(), "U0NOBODY"))
    with db.session() as session:
        applied = decision_requests.apply_request(session, signature)
    assert applied is not None
    assert applied.outcome is None
    with db.session() as session:
        assert decision_requests.apply_request(session, signature) is None
