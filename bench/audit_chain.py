"""What chaining costs: a decision's audit events written chained vs unchained, side by side.

Run: python -m bench.audit_chain. Target: chained at or under 1.2x unchained.

"Unchained" writes the very same event rows into a copy of `audit_events` without the chain
columns, lock or head, in two ways: as recording worked before the chain (an ORM insert, flushed,
per event), and as the leanest possible write (one plain multi-row INSERT, what the chained path
sends minus the lock and the head). Every transaction commits (PostgreSQL with fsync, as this
machine runs it), and the variants take turns transaction by transaction, so machine noise hits
all alike; medians are the headline, means are printed too.

1. the gate's two events (LLM review + routing) in a transaction of their own, one writer;
2. the whole gate decision (`record_gate_decision`: re-read, conditional transition, events,
   after-commit jobs), one writer, with `audit.record` swapped for the ORM unchained insert;
3. (1) with 8 concurrent writers, where the chain serialises commits on the head row.
"""

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.orm import DeclarativeBase, Session

from app.db import Database
from app.domain.advice import LlmAdvice, Recommendation
from app.domain.audit import (
    POLICY_GATE,
    Actor,
    ActorKind,
    AuditAction,
    Channel,
    EventContext,
    LlmOpinion,
    event_content,
    valuation,
)
from app.domain.audit_chain import CONTENT_FIELDS, event_document, stored_values
from app.domain.gate import route_expense
from app.domain.rules import ExpenseFacts
from app.policy_loader import load_policy
from app.services import audit, evaluation, expenses
from app.services.employees import add_employee
from app.services.expenses import NewExpense
from app.settings import DEFAULT_POLICY_FILE
from bench.common import migrated_database
from models import AuditEvent
from models.base import utcnow

POLICY = load_policy(DEFAULT_POLICY_FILE)
ADVICE = LlmAdvice(Recommendation.APPROVE, 0.91, ("matches the trip", "known merchant"), "m")
FACTS = ExpenseFacts(Decimal("1500.00"), "EUR", "travel", True)
CHAIN_COLUMNS = {"seq", "prev_hash", "hash", "format_version"}
WARM_UP, SAMPLES = 50, 1000
THREADS, PER_THREAD = 8, 60
Write = Callable[[int], None]


class BenchBase(DeclarativeBase):
    pass


def unchained_model(db: Database) -> type[Any]:
    """`audit_events` without the chain: same columns, types and indexes; no lock, no head."""
    table = Table(
        "audit_events_unchained",
        BenchBase.metadata,
        *(
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable, index=c.index)
            for c in AuditEvent.__table__.columns
            if c.name not in CHAIN_COLUMNS
        ),
    )
    table.create(db.engine)
    return type("UnchainedEvent", (BenchBase,), {"__table__": table})


GATE_EVENTS = (
    (Actor(ActorKind.LLM, ADVICE.model), AuditAction.LLM_REVIEWED),
    (POLICY_GATE, AuditAction.ROUTED_TO_HUMAN),
)


def submitted_expenses(db: Database, count: int) -> list[uuid.UUID]:
    """Expenses waiting for the gate (set-up, not measured)."""
    with db.session() as session:
        submitter = add_employee(session, email=f"{uuid.uuid4().hex}@b.example", name="B")
    ids = []
    for first in range(0, count, 100):
        with db.session() as session:
            for i in range(first, min(count, first + 100)):
                data = NewExpense(FACTS.amount, "EUR", "travel", f"M{i}", "trip", date(2026, 11, 1))
                ids.append(expenses.submit(session, submitter, data, None)[0].id)
    return ids


def gate_context(i: int) -> EventContext:
    gate = route_expense(POLICY, FACTS, ADVICE)
    return EventContext(
        valuation=valuation(FACTS.amount, FACTS.currency, POLICY),
        policy_version=POLICY.version,
        rule_trace=gate.rule_trace,
        llm=LlmOpinion.of(ADVICE),
        details={"steps": [r.value for r in gate.steps], "bench": i},
    )


def record_unchained(model: type[Any]) -> Callable[..., Any]:
    """A stand-in for `audit.record`: the same row, written unchained, as recording used to."""

    def record(session: Session, **event: Any) -> Any:
        context = event.pop("context", None) or EventContext()
        content = event_content(
            created_at=utcnow(),
            **{"from_status": None, "to_status": None, "reason": None, **event},
            context=context,
        )
        row = model(**event_document(content))
        session.add(row)
        session.flush()
        return row  # as audit.record does: callers read the event's time

    return record


def plain_unchained(db: Database) -> Write:
    """The gate's events as one plain INSERT: the chained path's write minus lock and head."""
    rows = ", ".join(
        "(" + ", ".join(f"%({name}_{k})s" for name in CONTENT_FIELDS) + ")"
        for k in range(len(GATE_EVENTS))
    )
    sql = f"INSERT INTO audit_events_unchained ({', '.join(CONTENT_FIELDS)}) VALUES {rows}"

    def write(i: int) -> None:
        context = gate_context(i)
        params: dict[str, Any] = {}
        for k, (actor, action) in enumerate(GATE_EVENTS):
            content = event_content(
                created_at=utcnow(),
                expense_id=None,
                actor=actor,
                action=action,
                channel=Channel.WORKER,
                from_status=None,
                to_status=None,
                reason="amount is not below the auto-approval limit",
                context=context,
            )
            stored = stored_values(content)
            params.update((f"{n}_{k}", v) for n, v in zip(CONTENT_FIELDS, stored, strict=True))
        with db.session() as session:
            session.connection().exec_driver_sql(sql, params)

    return write


def events_only(db: Database, record: Callable[..., Any]) -> Write:
    def write(i: int) -> None:
        context = gate_context(i)
        with db.session() as session:
            for actor, action in GATE_EVENTS:
                record(
                    session,
                    expense_id=None,
                    actor=actor,
                    action=action,
                    channel=Channel.WORKER,
                    reason="amount is not below the auto-approval limit",
                    context=context,
                )

    return write


@contextmanager
def unchained_recording(model: type[Any]) -> Iterator[None]:
    chained = audit.record
    audit.record = record_unchained(model)
    try:
        yield
    finally:
        audit.record = chained


def gate_decisions(db: Database, expense_ids: Iterator[uuid.UUID]) -> Write:
    def write(_i: int) -> None:
        with db.session() as session:
            decision = route_expense(POLICY, FACTS, ADVICE)
            assert evaluation.record_gate_decision(
                session, next(expense_ids), decision, ADVICE, POLICY
            )

    return write


def interleaved(writers: dict[str, Write], count: int) -> dict[str, list[float]]:
    """Latencies of `count` transactions per writer, taking turns transaction by transaction."""
    latencies: dict[str, list[float]] = {name: [] for name in writers}
    for i in range(count):
        for name, write in writers.items():
            began = time.perf_counter()
            write(i)
            latencies[name].append(time.perf_counter() - began)
    return latencies


def concurrent(write: Write, start: int) -> float:
    """Transactions per second with THREADS writers."""
    began = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(write, range(start, start + THREADS * PER_THREAD)))
    return THREADS * PER_THREAD / (time.perf_counter() - began)


def report(label: str, times: dict[str, list[float]]) -> None:
    print(label)
    means, medians = {}, {}
    for name, values in times.items():
        means[name] = statistics.fmean(values) * 1000
        medians[name] = statistics.median(values) * 1000
        p95 = sorted(values)[int(len(values) * 0.95) - 1] * 1000
        print(
            f"  {name:<28} n={len(values)} mean={means[name]:6.3f}ms "
            f"p50={medians[name]:6.3f}ms p95={p95:6.3f}ms"
        )
    for name in list(times)[1:]:
        print(
            f"  chained / {name}: median {medians['chained'] / medians[name]:.2f}x, "
            f"mean {means['chained'] / means[name]:.2f}x"
        )


def main() -> None:
    with migrated_database() as url:
        db = Database(url, job_sender=lambda _jobs: None, pool_size=THREADS)
        model = unchained_model(db)
        writers = {
            "chained": events_only(db, audit.record),
            "unchained (ORM, as before)": events_only(db, record_unchained(model)),
            "unchained (plain INSERT)": plain_unchained(db),
        }
        interleaved(writers, WARM_UP)
        report("1. the gate's 2 events, own transaction, 1 writer", interleaved(writers, SAMPLES))

        ids = iter(submitted_expenses(db, 2 * SAMPLES))
        chained_gate = gate_decisions(db, ids)

        def unchained_gate(i: int) -> None:
            with unchained_recording(model):
                chained_gate(i)

        gates = {"chained": chained_gate, "unchained (ORM, as before)": unchained_gate}
        report("2. whole gate decision transaction, 1 writer", interleaved(gates, SAMPLES))

        rates = dict.fromkeys(writers, 0.0)
        for r in range(2):
            for name, write in writers.items():
                rates[name] += concurrent(write, 100_000 * (r + 1)) / 2
        print(f"3. the gate's 2 events, {THREADS} concurrent writers")
        for name, rate in rates.items():
            print(f"  {name:<28} {rate:7.1f} transactions/s")
        for name in list(writers)[1:]:
            print(f"  throughput {name} / chained = {rates[name] / rates['chained']:.2f}x")
        db.dispose()


if __name__ == "__main__":
    main()
