"""Writing the audit chain on real PostgreSQL: what events say, rollbacks, and racing writers."""

import dataclasses
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from decimal import Decimal
from multiprocessing import get_context
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db import Database
from app.domain.audit import Actor, ActorKind, AuditAction, Channel, EventContext
from app.domain.audit_chain import ChainPoint
from app.domain.gate import route_expense
from app.domain.rules import ExpenseFacts
from app.services import audit, audit_append, decisions, evaluation, expenses
from app.services.audit_verify import verify
from models import AuditChainHead, AuditEvent
from tests.factories import MEASURED, POLICY, click, new_expense, person

OPERATOR = Actor(ActorKind.CLI_OPERATOR, "ops")


def note(session: Session, run: str, index: int) -> None:
    audit.record(
        session,
        expense_id=None,
        actor=OPERATOR,
        action=AuditAction.COMMENTED,
        channel=Channel.CLI,
        context=EventContext(details={"run": run, "index": index}),
    )


def events_of(db: Database, expense_id: uuid.UUID) -> dict[str, AuditEvent]:
    with db.session() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.expense_id == expense_id).order_by(AuditEvent.id)
        ).all()
    return {row.action: row for row in rows}


def head_seq(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(AuditChainHead.seq)) or 0)


def test_each_event_says_who_how_what_money_policy_and_advice(db: Database) -> None:
    submitter, approver = person(db), person(db, "approver")
    stranger = person(db)
    data = dataclasses.replace(new_expense("120.00"), currency="EUR")
    with db.session() as session:
        expense, _ = expenses.submit(session, submitter, data, None)
        expense_id = expense.id
    advice = MEASURED
    facts = ExpenseFacts(Decimal("120.00"), "EUR", "travel", True)
    with db.session() as session:
        gate = route_expense(POLICY, facts, advice)
        assert evaluation.record_gate_decision(session, expense_id, gate, advice, POLICY)
    assert stranger.slack_user_id
    assert approver.slack_user_id
    with db.session() as session:
        decisions.comment(
            session, expense_id=expense_id, slack_user_id=stranger.slack_user_id, text="hm"
        )
    click(db, expense_id, approver, reason="ok")

    got = events_of(db, expense_id)
    submitted = got["submitted"]
    assert (submitted.channel, submitted.actor_kind, submitted.actor_employee_id) == (
        "api",
        "employee",
        submitter.id,
    )
    assert (submitted.amount, submitted.currency) == ("120.00", "EUR")

    reviewed, routed = got["llm_reviewed"], got["routed_to_human"]
    assert (reviewed.actor_kind, reviewed.actor_id, reviewed.channel) == ("llm", "m-7", "worker")
    for gate_event in (reviewed, routed):
        assert (gate_event.policy_amount, gate_event.policy_currency) == ("129.60", "USD")
        assert gate_event.fx_rate == "1.08"
        assert gate_event.policy_version == POLICY.version
        assert (gate_event.llm_model, gate_event.llm_recommendation) == ("m-7", "approve")
        assert gate_event.llm_confidence == pytest.approx(0.5)
        assert gate_event.llm_reasons == ["[limits] pricey", "but fine"]
    # How the review was made is recorded with it: method, prompt version, tokens, latency.
    assert reviewed.details["llm_review"] == {
        "confidence_method": "logprobs",
        "stated_confidence": 0.9,
        "prompt_version": "0123456789ab",
        "prompt_tokens": 321,
        "completion_tokens": 45,
        "latency_ms": 987,
    }
    assert routed.rule_trace is not None
    limit = next(r for r in routed.rule_trace if r["rule"] == "receipt_present")
    assert (limit["passed"], limit["figure"], limit["limit"]) == (True, "129.60", "75")
    assert (routed.from_status, routed.to_status) == ("submitted", "pending_approval")

    refused = got["decision_refused"]
    assert (refused.actor_id, refused.actor_email) == (stranger.slack_user_id, stranger.email)
    assert (refused.channel, refused.details["code"]) == ("slack", "may_not_comment")
    approved = got["approved"]
    assert (approved.actor_employee_id, approved.actor_email) == (approver.id, approver.email)
    assert (approved.reason, approved.to_status) == ("ok", "approved")
    # The human decided on the same money and advice the gate recorded.
    assert (approved.amount, approved.policy_amount, approved.fx_rate) == (
        "120.00",
        "129.60",
        "1.08",
    )
    assert approved.llm_recommendation == "approve"
    assert approved.llm_reasons == ["[limits] pricey", "but fine"]


def test_a_rollback_leaves_no_event_and_no_gap(own_db: Database) -> None:
    with own_db.session() as session:
        note(session, "kept", 1)

    def fail_before_commit() -> None:
        with own_db.session() as session:
            note(session, "lost", 1)
            raise RuntimeError("boom")

    seen_moved_head: list[int] = []

    def fail_after_chaining(session: Session) -> None:
        # Runs after the chaining hook: the head has moved in this transaction, then it fails.
        seen_moved_head.append(int(session.scalar(select(AuditChainHead.seq)) or 0))
        raise RuntimeError("commit failed late")

    with pytest.raises(RuntimeError, match="boom"):
        fail_before_commit()

    def fail_late() -> None:
        with own_db.session() as session:
            note(session, "lost", 2)
            event.listen(session, "before_commit", fail_after_chaining)

    with pytest.raises(RuntimeError, match="late"):
        fail_late()
    assert seen_moved_head == [2]
    with own_db.session() as session:
        note(session, "kept", 2)
    with own_db.session() as session:
        runs = session.execute(select(AuditEvent.seq, AuditEvent.details)).all()
    assert [(seq, d["run"]) for seq, d in runs] == [(1, "kept"), (2, "kept")]
    verdict = verify(own_db.engine)
    assert verdict.problem is None
    assert verdict.checked == 2


def test_the_head_is_locked_only_from_commit_not_from_record(own_db: Database) -> None:
    """A transaction that recorded an event and then waits (say, on a slow query) must not hold
    up other writers: the lock is taken while committing."""
    recorded, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with own_db.session() as session:
            note(session, "slow", 1)
            recorded.set()
            assert release.wait(timeout=30)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert recorded.wait(timeout=10)
        with own_db.session() as session:
            session.execute(text("SET LOCAL lock_timeout = '3s'"))
            note(session, "quick", 1)
    finally:
        release.set()
        thread.join(timeout=30)
    with own_db.session() as session:
        order = session.scalars(select(AuditEvent.details).order_by(AuditEvent.seq)).all()
    assert [d["run"] for d in order] == ["quick", "slow"]
    assert verify(own_db.engine).problem is None


class Rollback(Exception):
    pass


def write_many(url: str, run: str, threads: int, transactions: int, barrier: Any) -> list[str]:
    """Racing writers: every thread commits, or rolls back early or late. Returns what committed."""

    def fail_late(_session: Session) -> None:
        raise Rollback

    def writer(thread: int) -> list[str]:
        committed = []
        barrier.wait(timeout=60)
        for i in range(transactions):
            tag = f"{run}-{thread}-{i}"
            try:
                with db.session() as session:
                    for k in range(1 + i % 3):
                        note(session, tag, k)
                    if i % 5 == 1:
                        raise Rollback
                    if i % 5 == 2:
                        event.listen(session, "before_commit", fail_late)
                    if i % 5 == 3:
                        audit.commit_with_chain(session)  # linked and committed by the server
            except Rollback:
                continue
            committed += [tag] * (1 + i % 3)
        return committed

    db = Database(url, job_sender=lambda _jobs: None, pool_size=threads)
    try:
        with ThreadPoolExecutor(threads) as pool:
            return [tag for tags in pool.map(writer, range(threads)) for tag in tags]
    finally:
        db.dispose()


def test_racing_writers_in_threads_and_processes_keep_one_chain(own_postgres_url: str) -> None:
    threads, transactions, processes = 4, 30, 2
    spawn = get_context("spawn")
    with spawn.Manager() as manager:
        barrier = manager.Barrier(threads * (processes + 1))
        with ProcessPoolExecutor(processes, mp_context=spawn) as pool:
            remote = [
                pool.submit(write_many, own_postgres_url, f"p{n}", threads, transactions, barrier)
                for n in range(processes)
            ]
            local = write_many(own_postgres_url, "local", threads, transactions, barrier)
            committed = local + [tag for future in remote for tag in future.result(timeout=120)]
    db = Database(own_postgres_url, job_sender=lambda _jobs: None)
    try:
        with db.session() as session:
            stored = session.scalars(select(AuditEvent.details)).all()
            seqs = session.execute(select(func.min(AuditEvent.seq), func.max(AuditEvent.seq))).one()
        verdict = verify(db.engine)
    finally:
        db.dispose()
    assert verdict.problem is None, verdict.problem
    assert sorted(d["run"] for d in stored) == sorted(committed)
    assert verdict.checked == len(committed) == seqs[1]
    assert seqs[0] == 1
    # 2 of every 5 transactions rolled back, so the test did exercise the rollbacks.
    attempted = threads * (processes + 1) * sum(1 + i % 3 for i in range(transactions))
    assert len(committed) < attempted


def chain_statements(db: Database) -> list[str]:
    """The statements that touch the chain head, from now on (PREPARE, once per connection, not)."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        statement = str(args[2])
        chaining = "audit_chain_head" in statement or "audit_guessed_append" in statement
        if chaining and not statement.startswith("PREPARE"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    return seen


def test_the_guessed_head_is_checked_and_a_wrong_guess_takes_the_lock(own_db: Database) -> None:
    """The one-statement path for several events trusts nothing: a stale or forged guess writes
    nothing."""
    head_statements = chain_statements(own_db)

    def write(run: str) -> int:
        head_statements.clear()
        with own_db.session() as session:
            note(session, run, 0)
            note(session, run, 1)
        return len(head_statements)

    write("first")
    seen = audit_append.last_seen.get()
    assert seen is not None
    assert write("guessed right") == 1
    audit_append.last_seen.set(seen)  # another process has written since
    assert write("stale guess") == 3
    current = audit_append.last_seen.get()
    assert current is not None
    audit_append.last_seen.set(current._replace(hash="f" * 64))  # right place, wrong history
    assert write("wrong hash") == 3
    with own_db.session() as session:
        runs = session.scalars(select(AuditEvent.details).order_by(AuditEvent.seq)).all()
    assert [d["run"] for d in runs[::2]] == ["first", "guessed right", "stale guess", "wrong hash"]
    assert verify(own_db.engine).problem is None


def test_a_lone_event_is_linked_by_the_server_in_one_statement_whatever_the_guess(
    own_db: Database,
) -> None:
    """No guess is read: one statement locks the head, hashes (as `chain_hash`) and inserts."""
    head_statements = chain_statements(own_db)

    def write(run: str) -> int:
        head_statements.clear()
        with own_db.session() as session:
            note(session, run, 0)
        return len(head_statements)

    assert write("first") == 1
    audit_append.last_seen.set(ChainPoint(0, "f" * 64))  # stale and forged
    assert write("second") == 1
    with own_db.session() as session:
        rows = session.execute(
            select(AuditEvent.seq, AuditEvent.hash, AuditEvent.details).order_by(AuditEvent.seq)
        ).all()
    assert [(seq, d["run"]) for seq, _, d in rows] == [(1, "first"), (2, "second")]
    seen = audit_append.last_seen.get()
    assert seen is not None
    assert (seen.seq, seen.hash) == (2, rows[-1].hash)
    assert verify(own_db.engine).problem is None


def test_a_few_events_committed_with_their_chaining_take_one_statement(
    own_db: Database,
) -> None:
    """commit_with_chain: the server links, inserts and commits up to SERVER_LINKED_MAX events
    in the statement that locks the head; more take the usual path and the session's COMMIT."""
    head_statements = chain_statements(own_db)

    def write(run: str, count: int) -> list[str]:
        head_statements.clear()
        with own_db.session() as session:
            for index in range(count):
                note(session, run, index)
            audit.commit_with_chain(session)
        return head_statements[:]

    for count in range(1, audit_append.SERVER_LINKED_MAX + 1):
        audit_append.last_seen.set(ChainPoint(0, "f" * 64))  # no guess is read
        (statement,) = write(f"{count} events", count)
        assert statement.rstrip().endswith("COMMIT; BEGIN")
    assert len(write("more events", audit_append.SERVER_LINKED_MAX + 1)) >= 1
    with own_db.session() as session:
        rows = session.execute(select(AuditEvent.seq, AuditEvent.details)).all()
    written = [(d["run"], d["index"]) for _, d in sorted(rows, key=lambda r: r[0])]
    expected = [
        (f"{count} events", index)
        for count in range(1, audit_append.SERVER_LINKED_MAX + 1)
        for index in range(count)
    ]
    assert written == expected + [("more events", i) for i in range(5)]
    assert verify(own_db.engine).problem is None


def test_a_pooler_that_loses_prepared_statements_costs_one_transaction(
    own_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind PgBouncer in transaction mode, PREPARE and EXECUTE may meet different servers."""
    monkeypatch.setattr(audit_append.prepared_statements, "allowed", True)
    db = Database(own_postgres_url, job_sender=lambda _jobs: None, pool_size=1)

    def write(run: str) -> None:
        with db.session() as session:
            note(session, run, 0)
            note(session, run, 1)

    try:
        write("before")
        write("prepared")
        with db.engine.connect() as conn:  # the one pooled connection: the server forgets
            conn.exec_driver_sql("DEALLOCATE audit_guessed_append_2")
        with pytest.raises(DBAPIError, match="does not exist"):
            write("lost")
        assert audit_append.prepared_statements.allowed is False
        write("after")
        with db.session() as session:
            runs = session.scalars(select(AuditEvent.details).order_by(AuditEvent.seq)).all()
        verdict = verify(db.engine)
    finally:
        db.dispose()
    assert [d["run"] for d in runs[::2]] == ["before", "prepared", "after"]
    assert verdict.problem is None
