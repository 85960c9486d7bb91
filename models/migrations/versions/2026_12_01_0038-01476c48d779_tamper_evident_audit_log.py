"""tamper-evident audit log

Revision ID: 01476c48d779
Revises: 16711ce5ae2e
Create Date: 2026-12-01 00:38:43.000000

Audit events gain what each says (channel, the employee behind the actor, the money, the rule
trace and the LLM's advice in their own columns) and a place on a SHA-256 chain. JSON fields
become their canonical text (the bytes hashed). Existing events are chained in id order; then
triggers make `audit_events` append-only, and the chain head may only move forward. Slack
outbox rows may now belong to no expense (the daily audit witness).

Any later migration that must rewrite audit rows has to drop and recreate these triggers, and
would break the chain: it should add new events instead.
"""

import json
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.domain.audit_chain import (
    CONTENT_FIELDS,
    FORMAT_VERSION,
    GENESIS_HASH,
    JSON_FIELDS,
    EventContent,
    canonical_content,
    canonical_json,
    chain_hash,
)
from app.domain.money import in_minor_units
from models.base import UTCDateTime

revision: str = "01476c48d779"
down_revision: str | None = "16711ce5ae2e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BATCH = 1000


def new_columns() -> tuple[sa.Column[Any], ...]:
    """Fresh Column objects each call: a Column belongs to one table."""
    return (
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=True),
        sa.Column("format_version", sa.SmallInteger(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("actor_employee_id", sa.Integer(), nullable=True),
        sa.Column("actor_email", sa.String(length=320), nullable=True),
        sa.Column("amount", sa.String(length=48), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("policy_amount", sa.String(length=48), nullable=True),
        sa.Column("policy_currency", sa.String(length=3), nullable=True),
        sa.Column("fx_rate", sa.String(length=48), nullable=True),
        sa.Column("rule_trace", sa.Text(), nullable=True),
        sa.Column("llm_recommendation", sa.String(length=32), nullable=True),
        sa.Column("llm_reasons", sa.Text(), nullable=True),
    )


NEW_COLUMNS = new_columns()
REQUIRED: dict[str, sa.types.TypeEngine[Any]] = {
    "seq": sa.BigInteger(),
    "prev_hash": sa.String(length=64),
    "hash": sa.String(length=64),
    "format_version": sa.SmallInteger(),
    "channel": sa.String(length=16),
}
CHANNEL_OF_ACTOR = {"employee": "api", "slack_user": "slack"}  # llm and system: the worker
SLACK_LABEL = re.compile(r"(?P<id>\S+) \((?P<email>[^)]*)\)")

events = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger()),
    sa.column("expense_id", sa.Uuid()),
    sa.column("actor_kind", sa.String()),
    sa.column("actor_id", sa.String()),
    sa.column("action", sa.String()),
    sa.column("from_status", sa.String()),
    sa.column("to_status", sa.String()),
    sa.column("reason", sa.Text()),
    sa.column("policy_version", sa.String()),
    sa.column("llm_model", sa.String()),
    sa.column("llm_confidence", sa.Double()),
    sa.column("details", sa.Text()),
    sa.column("created_at", UTCDateTime()),
    *(sa.column(c.name, c.type) for c in NEW_COLUMNS),
)

PG_TRIGGERS = """
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused; record a correcting event instead',
        TG_OP;
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

CREATE FUNCTION audit_chain_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.id = OLD.id AND NEW.seq >= OLD.seq THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_chain_head only moves forward: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE OR DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward_only();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_forward_only();
"""
PG_DROP = """
DROP TRIGGER audit_chain_head_no_truncate ON audit_chain_head;
DROP TRIGGER audit_chain_head_forward_only ON audit_chain_head;
DROP FUNCTION audit_chain_head_forward_only();
DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_events_refuse_change();
"""
# SQLite has no TRUNCATE (DELETE without WHERE fires the DELETE trigger) and one statement a call.
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN "
    "SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN "
    "SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END",
    "CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_chain_head "
    "WHEN NEW.id <> OLD.id OR NEW.seq < OLD.seq BEGIN "
    "SELECT RAISE(ABORT, 'audit_chain_head only moves forward: UPDATE refused'); END",
    "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head BEGIN "
    "SELECT RAISE(ABORT, 'audit_chain_head only moves forward: DELETE refused'); END",
)
SQLITE_TRIGGER_NAMES = (
    "audit_events_no_update",
    "audit_events_no_delete",
    "audit_chain_head_forward_only",
    "audit_chain_head_no_delete",
)


class _Lookups:
    """Employees and expense amounts the old events refer to, read once."""

    def __init__(self, conn: sa.Connection) -> None:
        people = conn.execute(sa.text("SELECT id, email, slack_user_id FROM employees")).all()
        self.by_email = {email: (pid, email) for pid, email, _ in people}
        self.by_slack = {slack: (pid, email) for pid, email, slack in people if slack}
        amounts = conn.execute(sa.text("SELECT id, amount, currency FROM expenses")).all()
        self.money: dict[str, tuple[str, str]] = {}
        for expense_id, amount, currency in amounts:
            text = in_minor_units(Decimal(str(amount)), currency)
            self.money[str(uuid.UUID(str(expense_id)))] = (text, currency)


def _actor(kind: str, actor_id: str | None, lookups: _Lookups) -> dict[str, Any]:
    if kind == "employee" and actor_id:
        found = lookups.by_email.get(actor_id)
        return {
            "actor_id": actor_id,
            "actor_employee_id": found[0] if found else None,
            "actor_email": actor_id,
        }
    if kind == "slack_user" and actor_id:
        label = SLACK_LABEL.fullmatch(actor_id)
        slack_id = label["id"] if label else actor_id
        found = lookups.by_slack.get(slack_id)
        email = label["email"] if label else (found[1] if found else None)
        return {
            "actor_id": slack_id,
            "actor_employee_id": found[0] if found else None,
            "actor_email": email,
        }
    return {"actor_id": actor_id, "actor_employee_id": None, "actor_email": None}


def _moved_details(details: dict[str, Any]) -> dict[str, Any]:
    """The gate's rule trace and advice leave `details` for their own columns."""
    rest = dict(details)
    advice = rest.pop("llm_advice", None) or {}
    if "unavailable" in advice:
        rest["llm_unavailable"] = advice["unavailable"]
    return {
        "rule_trace": rest.pop("rule_trace", None),
        "policy_amount": rest.pop("amount_in_policy_currency", None),
        "llm_recommendation": advice.get("recommendation"),
        "llm_reasons": advice.get("reasons"),
        "details": rest,
    }


def _as_stored(values: dict[str, Any]) -> dict[str, Any]:
    """JSON fields as the canonical text the column now holds."""
    return {
        name: canonical_json(value) if name in JSON_FIELDS and value is not None else value
        for name, value in values.items()
    }


def _migrated(row: sa.Row[Any], lookups: _Lookups) -> dict[str, Any]:
    """The new column values of an old event, from what it and the tables around it say."""
    money = lookups.money.get(str(row.expense_id)) if row.expense_id else None
    return {
        "channel": CHANNEL_OF_ACTOR.get(row.actor_kind, "worker"),
        **_actor(row.actor_kind, row.actor_id, lookups),
        "amount": money[0] if money else None,
        "currency": money[1] if money else None,
        # The policy's currency and rates were not recorded before; they stay unknown.
        "policy_currency": None,
        "fx_rate": None,
        **_moved_details(json.loads(row.details) if row.details else {}),
    }


def _content(row: sa.Row[Any], values: dict[str, Any]) -> EventContent:
    merged = {**row._mapping, **values}
    return EventContent(**{name: merged[name] for name in CONTENT_FIELDS})


def _chain_existing_events(conn: sa.Connection) -> tuple[int, str]:
    """Fill the new columns of every existing event and chain them in id order."""
    lookups = _Lookups(conn)
    seq, prev = 0, GENESIS_HASH
    last_id = -1
    update = (
        events.update()
        .where(events.c.id == sa.bindparam("event_id"))
        .values(
            {c.name: sa.bindparam(c.name) for c in NEW_COLUMNS}
            | {
                "actor_id": sa.bindparam("actor_id"),
                "details": sa.bindparam("details"),
            }
        )
    )
    while True:
        rows = conn.execute(
            sa.select(events).where(events.c.id > last_id).order_by(events.c.id).limit(BATCH)
        ).all()
        if not rows:
            return seq, prev
        batch = []
        for row in rows:
            values = _migrated(row, lookups)
            seq += 1
            digest = chain_hash(seq, prev, canonical_content(_content(row, values)))
            batch.append(
                {
                    **_as_stored(values),
                    "event_id": row.id,
                    "seq": seq,
                    "prev_hash": prev,
                    "hash": digest,
                    "format_version": FORMAT_VERSION,
                }
            )
            prev = digest
        conn.execute(update, batch)
        last_id = rows[-1].id


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        for column in new_columns():
            batch_op.add_column(column)
        batch_op.alter_column(
            "details", existing_type=JSON, type_=sa.Text(), postgresql_using="details::text"
        )

    conn = op.get_bind()
    head_seq, head_hash = _chain_existing_events(conn)

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        for name, type_ in REQUIRED.items():
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])
    op.execute(
        sa.text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, :seq, :hash)").bindparams(
            seq=head_seq, hash=head_hash
        )
    )
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.alter_column("expense_id", existing_type=sa.Uuid(), nullable=True)

    if conn.dialect.name == "postgresql":
        op.execute(PG_TRIGGERS)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute(PG_DROP)
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER {name}")
    op.execute("DELETE FROM slack_messages WHERE expense_id IS NULL")
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.alter_column("expense_id", existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        for column in reversed(NEW_COLUMNS):
            batch_op.drop_column(column.name)
        batch_op.alter_column(
            "details", existing_type=sa.Text(), type_=JSON, postgresql_using="details::jsonb"
        )
    op.drop_table("audit_chain_head")
