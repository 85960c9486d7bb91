"""The migrations build exactly the schema the models describe; the audit log is append-only."""

import uuid
from contextlib import ExitStack
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from app.migrate import alembic_config, upgrade
from app.services.audit_verify import verify
from bench.pg import scratch_database
from models import AuditEvent, Base, Expense
from tests.audit_rows import write_events

BEFORE_AUDIT_CHAIN = "16711ce5ae2e"
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def test_models_and_migrations_agree(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def refused(engine: sa.Engine, statement: str) -> str:
    with pytest.raises(DBAPIError) as error, engine.begin() as conn:
        conn.execute(text(statement))
    return str(error.value.orig)


def test_postgresql_refuses_update_delete_and_truncate(own_postgres_url: str) -> None:
    write_events(own_postgres_url, 2)
    engine = create_engine(own_postgres_url)
    for statement, verb in (
        ("UPDATE audit_events SET reason = 'edited'", "UPDATE"),
        ("DELETE FROM audit_events", "DELETE"),
        ("TRUNCATE audit_events CASCADE", "TRUNCATE"),
    ):
        assert f"append-only: {verb} refused" in refused(engine, statement)
    assert "only moves forward" in refused(engine, "UPDATE audit_chain_head SET seq = 0")
    assert "only moves forward" in refused(engine, "DELETE FROM audit_chain_head")
    engine.dispose()
    verdict = verify(create_engine(own_postgres_url))
    assert verdict.problem is None
    assert verdict.checked == 2


def test_sqlite_refuses_update_and_delete_and_chains_like_postgresql(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    write_events(url, 3)
    engine = create_engine(url)
    assert "append-only: UPDATE refused" in refused(engine, "UPDATE audit_events SET reason = 'x'")
    assert "append-only: DELETE refused" in refused(engine, "DELETE FROM audit_events")
    assert "only moves forward" in refused(engine, "UPDATE audit_chain_head SET seq = 0")
    verdict = verify(engine)
    engine.dispose()
    assert verdict.problem is None
    assert verdict.checked == 3


def old_rows(conn: sa.Connection) -> None:
    """Events as the code before the chain wrote them, with the rows they refer to."""
    now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    stamp = sa.DateTime(timezone=True)
    employees = sa.table(
        "employees",
        *(sa.column(name) for name in ("id", "email", "name", "slack_user_id")),
        sa.column("roles", JSON),
        sa.column("created_at", stamp),
    )
    for pid, handle in ((1, "ann"), (2, "bob")):
        conn.execute(
            employees.insert().values(
                id=pid,
                email=f"{handle}@x.example",
                name=handle,
                slack_user_id=f"U0{handle.upper()}",
                roles=[],
                created_at=now,
            )
        )
    expenses = sa.table(
        "expenses",
        sa.column("id", sa.Uuid()),
        sa.column("amount", sa.Numeric(18, 4)),
        sa.column("incurred_on", sa.Date()),
        *(sa.column(name, JSON) for name in ("steps", "route_reasons")),
        *(sa.column(name, stamp) for name in ("created_at", "updated_at")),
        *(sa.column(name) for name in ("submitter_id", "currency", "category", "merchant")),
        *(sa.column(name) for name in ("description", "status", "current_step", "request_hash")),
    )
    expense_id = uuid.uuid4()
    conn.execute(
        expenses.insert().values(
            id=expense_id,
            submitter_id=1,
            amount=Decimal("120.5"),
            currency="EUR",
            category="travel",
            merchant=" Straße CAFÉ ",
            description="d",
            incurred_on=date(2026, 11, 1),
            status="approved",
            steps=["approver"],
            current_step=0,
            route_reasons=[],
            request_hash="h",
            created_at=now,
            updated_at=now,
        )
    )
    events = sa.table(
        "audit_events",
        sa.column("expense_id", sa.Uuid()),
        sa.column("details", JSON),
        sa.column("created_at", stamp),
        *(sa.column(name) for name in ("actor_kind", "actor_id", "action", "llm_confidence")),
    )
    advice = {"recommendation": "approve", "confidence": 0.6, "reasons": ["ok"], "model": "m"}
    gate = {"rule_trace": [{"rule": "r", "passed": True, "detail": "d"}], "llm_advice": advice}
    for row in (
        {"actor_kind": "employee", "actor_id": "ann@x.example", "action": "submitted"},
        {
            "actor_kind": "system",
            "actor_id": "policy-gate",
            "action": "routed_to_human",
            "details": {**gate, "amount_in_policy_currency": "130.14", "steps": ["approver"]},
            "llm_confidence": 0.6,
        },
        {"actor_kind": "slack_user", "actor_id": "U0BOB (bob@x.example)", "action": "approved"},
    ):
        values = {"details": {}, "llm_confidence": None, **row}
        conn.execute(events.insert().values(expense_id=expense_id, created_at=now, **values))


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_existing_events_are_migrated_onto_the_chain(
    backend: str, postgres_url: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'old.db'}"
        else:
            url = stack.enter_context(scratch_database("expense_bot_old"))
        command.upgrade(alembic_config(url), BEFORE_AUDIT_CHAIN)
        engine = create_engine(url)
        with engine.begin() as conn:
            old_rows(conn)
        upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(select(AuditEvent).order_by(AuditEvent.id)).all()
            keys = conn.scalars(select(Expense.merchant_key)).all()
        verdict = verify(engine)
        engine.dispose()
    assert verdict.problem is None
    assert verdict.checked == 3
    # Earlier expenses get the key the duplicate rule compares (casefold, not SQL's lower).
    assert keys == ["strasse café"]
    submitted, routed, approved = rows
    assert [r.seq for r in rows] == [1, 2, 3]
    assert (submitted.channel, submitted.actor_employee_id) == ("api", 1)
    assert (submitted.amount, submitted.currency) == ("120.50", "EUR")
    assert (routed.channel, routed.policy_amount, routed.llm_recommendation) == (
        "worker",
        "130.14",
        "approve",
    )
    assert "llm_advice" not in routed.details
    assert routed.details["steps"] == ["approver"]
    assert (approved.channel, approved.actor_id) == ("slack", "U0BOB")
    assert approved.actor_employee_id == 2
    assert approved.actor_email == "bob@x.example"
