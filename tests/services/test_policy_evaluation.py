"""The gate on real PostgreSQL: history, auto-rejection, shadow mode, and what is recorded."""

import random
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select, update

from app import job_names
from app.db import Database
from app.domain.history import history_for
from app.domain.policy import Policy
from app.policy_loader import load_policy
from app.services import policy_versions
from app.services.history import as_past, history_of
from models import AuditEvent, Decision, Expense, PolicyVersion
from tests.conftest import JobRecorder
from tests.factories import claim, click, evaluate, person, policy_file


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return load_policy(policy_file(tmp_path))


def gate_event(db: Database, expense_id: uuid.UUID) -> AuditEvent:
    with db.session() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.expense_id == expense_id, AuditEvent.actor_id == "policy-gate")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None
        session.expunge(event)
        return event


def test_a_routine_claim_records_route_policy_hash_and_full_trace(
    db: Database, policy: Policy
) -> None:
    expense = evaluate(db, claim(db, person(db)), policy)
    assert expense.status == "approved"
    assert expense.gate_route == "auto_approve"
    assert expense.policy_version == policy.version
    assert expense.policy_sha256 == policy.source_sha256
    assert expense.rule_trace is not None
    assert {r["rule"] for r in expense.rule_trace} >= {"duplicate", "monthly_cap"}
    event = gate_event(db, expense.id)
    assert event.details["policy_sha256"] == policy.source_sha256
    assert event.rule_trace == expense.rule_trace


def test_a_human_decision_records_the_policy_hash_and_the_rule_trace_it_was_made_on(
    db: Database, policy: Policy
) -> None:
    approver = person(db, "approver")
    routed = evaluate(db, claim(db, person(db), merchant="Duty Free Shop"), policy)
    assert routed.status == "pending_approval"
    click(db, routed.id, approver, reason="fine")
    with db.session() as session:
        approved = session.scalars(
            select(AuditEvent).where(
                AuditEvent.expense_id == routed.id, AuditEvent.action == "approved"
            )
        ).one()
    assert approved.details["policy_sha256"] == policy.source_sha256
    assert approved.policy_version == policy.version
    assert approved.rule_trace == routed.rule_trace
    assert any(r.get("action") == "flag" for r in approved.rule_trace or [])


def test_a_second_claim_of_the_same_expense_goes_to_a_human(db: Database, policy: Policy) -> None:
    alice, bob = person(db), person(db)
    merchant = f"Rail {uuid.uuid4().hex}"
    first = evaluate(db, claim(db, alice, merchant=merchant), policy)
    assert first.status == "approved"
    again = evaluate(db, claim(db, alice, merchant=f" {merchant.upper()}"), policy)
    assert again.status == "pending_approval"
    assert any(str(first.id) in r and "duplicate" in r for r in again.route_reasons)
    # Someone else claiming the same amount at the same merchant is not a duplicate.
    assert evaluate(db, claim(db, bob, merchant=merchant), policy).status == "approved"
    # Anyone's claim of a receipt already claimed is, whatever the amount and date.
    receipt = f"https://r.example/{uuid.uuid4().hex}"
    assert evaluate(db, claim(db, alice, receipt_url=receipt), policy).status == "approved"
    reused = claim(db, bob, receipt_url=receipt, amount=Decimal("5"), incurred_on=date(2025, 12, 1))
    assert any("same receipt" in r for r in evaluate(db, reused, policy).route_reasons)


def test_the_monthly_cap_counts_approved_and_pending_claims(db: Database, policy: Policy) -> None:
    alice = person(db)
    meals = {"category": "meals", "incurred_on": date(2026, 11, 3)}
    for _ in range(5):  # 5 x 120 = 600 of the 750 meals cap
        assert evaluate(db, claim(db, alice, **meals), policy).status == "approved"
    assert evaluate(db, claim(db, alice, **meals), policy).status == "approved"  # 720
    capped = evaluate(db, claim(db, alice, **meals), policy)
    assert capped.status == "pending_approval"
    assert any("monthly_cap" in r and "840.00" in r for r in capped.route_reasons)
    december = {**meals, "incurred_on": date(2026, 12, 1)}
    assert evaluate(db, claim(db, alice, **december), policy).status == "approved"


def test_a_forbidden_merchant_marked_reject_is_rejected_by_the_gate(
    db: Database, jobs: JobRecorder, policy: Policy
) -> None:
    expense = evaluate(db, claim(db, person(db), merchant="Grand Casino Bar"), policy)
    assert expense.status == "rejected"
    assert expense.gate_route == "auto_reject"
    assert expense.steps == []
    event = gate_event(db, expense.id)
    assert event.action == "auto_rejected"
    assert event.to_status == "rejected"
    assert "forbidden merchant: casino" in (event.reason or "")
    assert job_names.NOTIFY_SUBMITTER in jobs.names()
    assert job_names.POST_APPROVAL_CARD not in jobs.names()
    with db.session() as session:
        count = select(func.count()).select_from(Decision).where(Decision.expense_id == expense.id)
        assert session.scalar(count) == 0


def test_shadow_mode_sends_everything_to_a_human_and_records_the_would_be(
    db: Database, tmp_path: Path
) -> None:
    shadow = load_policy(policy_file(tmp_path, **{"shadow_mode = false": "shadow_mode = true"}))
    assert shadow.clauses.shadow_mode
    routine = evaluate(db, claim(db, person(db)), shadow)
    assert routine.status == "pending_approval"
    assert gate_event(db, routine.id).details["shadow_mode_would_be"] == "auto_approve"
    casino = evaluate(db, claim(db, person(db), merchant="casino"), shadow)
    assert casino.status == "pending_approval"
    assert gate_event(db, casino.id).details["shadow_mode_would_be"] == "auto_reject"


EDGE_DAYS = [date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 30)]


def test_the_history_read_from_sql_is_what_judging_every_earlier_claim_gives(
    db: Database, policy: Policy
) -> None:
    """The SQL narrows to candidates; it must never drop one that history_for would count."""
    rng = random.Random(7)
    people = [person(db), person(db)]
    tag = uuid.uuid4().hex
    statuses = ["submitted", "approved", "pending_approval", "needs_info", "rejected", "expired"]
    ids = []
    for _ in range(80):
        changes: dict[str, object] = {
            "amount": Decimal(rng.choice(["40.00", "120.00", "300.00"])),
            "currency": rng.choice(["USD", "USD", "EUR", "CHF"]),
            "category": rng.choice(["meals", "training", "travel"]),
            "merchant": rng.choice([f"Straße {tag}", f" STRASSE {tag}", f"Inn {tag}"]),
            # Month ends and dates 30 and 31 days apart: the edges of months and of the window.
            "incurred_on": rng.choice(EDGE_DAYS),
            "receipt_url": rng.choice([None, *(f"https://r.example/{tag}/{n}" for n in range(4))]),
        }
        ids.append(claim(db, rng.choice(people), **changes))
    with db.session() as session:
        for expense_id in ids:
            session.execute(
                update(Expense).where(Expense.id == expense_id).values(status=rng.choice(statuses))
            )
    with db.session() as session:
        everything = [
            as_past(e) for e in session.scalars(select(Expense).where(Expense.id.in_(ids)))
        ]
        counted = {"duplicates": 0, "same_receipt": 0, "capped": 0}
        for expense_id in ids:
            expense = session.get(Expense, expense_id)
            assert expense is not None
            judged = history_for(policy, as_past(expense), everything)
            assert history_of(session, expense, policy) == judged
            counted["duplicates"] += bool(judged.duplicates)
            counted["same_receipt"] += bool(judged.same_receipt)
            counted["capped"] += judged.month_spent != 0
    # The data exercises every part of the history, so the equality above means something.
    assert min(counted.values()) >= 5, counted


def test_a_policy_text_is_stored_once_and_then_no_longer_looked_up(
    postgres_url: str, policy: Policy
) -> None:
    db = Database(postgres_url, job_sender=lambda _jobs: None, pool_size=1)
    looked_up: list[str] = []
    sqlalchemy_event.listen(
        db.engine,
        "before_cursor_execute",
        lambda *args: looked_up.append(args[2]) if "policy_versions" in args[2] else None,
    )
    texts = []
    try:
        for _ in range(3):
            looked_up.clear()
            with db.session() as session:
                policy_versions.remember(session, policy, datetime.now(UTC))
            texts.append(len(looked_up))
        with db.session() as session:
            stored = session.get(PolicyVersion, policy.source_sha256)
            assert stored is not None
            assert stored.text == policy.source_text
    finally:
        db.dispose()
    # Looked up (and stored, unless an earlier test did), then known on this connection.
    assert texts[0] >= 1
    assert texts[2] == 0


def test_a_policy_text_stored_by_a_rolled_back_transaction_is_stored_again(
    postgres_url: str, tmp_path: Path
) -> None:
    # A text of its own, which no other test has stored.
    fresh = {'version = "2026-12-01.1"': f'version = "{uuid.uuid4().hex}"'}
    own = load_policy(policy_file(tmp_path, **fresh))
    db = Database(postgres_url, job_sender=lambda _jobs: None, pool_size=1)

    def remember_twice_then_fail() -> None:
        with db.session() as session:
            policy_versions.remember(session, own, datetime.now(UTC))
            policy_versions.remember(session, own, datetime.now(UTC))  # finds its own insert
            raise RuntimeError("rolled back")

    try:
        with pytest.raises(RuntimeError):
            remember_twice_then_fail()
        with db.session() as session:  # the same connection: pool_size=1
            policy_versions.remember(session, own, datetime.now(UTC))
        with db.session() as session:
            assert session.get(PolicyVersion, own.source_sha256) is not None
    finally:
        db.dispose()
