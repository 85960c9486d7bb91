"""The audit log: one row per state change or refused decision, hash-chained and append-only.

The database refuses UPDATE, DELETE and TRUNCATE on `audit_events` (triggers installed by the
migration); `audit_chain_head` is the single row that serialises writers onto one chain.
"""

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Dialect, ForeignKey, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.domain.audit_chain import canonical_json
from models.base import Base, UTCDateTime, utcnow

MONEY_TEXT = String(48)


class CanonicalJSON(TypeDecorator[Any]):
    """JSON kept as its canonical text: the bytes stored are the bytes hashed, on every database.

    (jsonb would re-order keys and re-type numbers; checking would then have to re-encode.)
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else canonical_json(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    # Position in the chain (1, 2, 3, ... with no gaps), the previous event's hash, and this
    # event's hash over its canonical content (see app/domain/audit_chain.py).
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    format_version: Mapped[int] = mapped_column(SmallInteger)

    expense_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("expenses.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    actor_kind: Mapped[str] = mapped_column(String(16))
    # The actor in its own namespace: an email, a Slack user id, a model, a component, a login.
    actor_id: Mapped[str | None] = mapped_column(String(320))
    # The employee the actor maps to, if any (a Slack user's linked employee, for instance).
    actor_employee_id: Mapped[int | None]
    actor_email: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    # Decimal strings, exactly as hashed: no float or scale round-trip can change them.
    amount: Mapped[str | None] = mapped_column(MONEY_TEXT)
    currency: Mapped[str | None] = mapped_column(String(3))
    policy_amount: Mapped[str | None] = mapped_column(MONEY_TEXT)
    policy_currency: Mapped[str | None] = mapped_column(String(3))
    fx_rate: Mapped[str | None] = mapped_column(MONEY_TEXT)
    reason: Mapped[str | None] = mapped_column(Text)
    policy_version: Mapped[str | None] = mapped_column(String(64))
    rule_trace: Mapped[list[dict[str, Any]] | None] = mapped_column(CanonicalJSON)
    llm_model: Mapped[str | None] = mapped_column(String(200))
    llm_recommendation: Mapped[str | None] = mapped_column(String(32))
    llm_confidence: Mapped[float | None]
    llm_reasons: Mapped[list[str] | None] = mapped_column(CanonicalJSON)
    details: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class AuditChainHead(Base):
    """The last chained event's position and hash. Writers lock this row just before commit."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
