"""Expenses, the decisions on their approval steps, and comments."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Enum, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.advice import Advice
from app.domain.workflow import Status
from models.base import AdviceJSON, Base, JSONType, UTCDateTime, utcnow

# Stored as the plain string it always was (no database enum, no migration); read as Status.
STATUS_TYPE = Enum(
    Status,
    native_enum=False,
    create_constraint=False,
    length=32,
    values_callable=lambda statuses: [s.value for s in statuses],
    validate_strings=True,
)


class Expense(Base):
    __tablename__ = "expenses"
    __table_args__ = (
        UniqueConstraint("submitter_id", "idempotency_key"),
        Index("ix_expenses_submitter_merchant_key", "submitter_id", "merchant_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    submitter_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    currency: Mapped[str] = mapped_column(String(3))
    category: Mapped[str] = mapped_column(String(64))
    merchant: Mapped[str] = mapped_column(String(200))
    # The merchant as the duplicate rule compares it (app.domain.history.merchant_key), so the
    # database can find a submitter's earlier claims there without reading all of them.
    merchant_key: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    incurred_on: Mapped[date] = mapped_column(Date)
    receipt_url: Mapped[str | None] = mapped_column(String(2048))
    # SHA-256 of the receipt, to find the same receipt claimed again: of the uploaded file's
    # bytes when there is one (the file is stored under it), else of the link.
    receipt_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # The uploaded receipt's type as read from its content; None when nothing was uploaded.
    receipt_content_type: Mapped[str | None] = mapped_column(String(32))

    status: Mapped[Status] = mapped_column(STATUS_TYPE, index=True)
    # Roles that must approve, in order, and the index of the step now waiting.
    steps: Mapped[list[str]] = mapped_column(JSONType, default=list)
    current_step: Mapped[int] = mapped_column(default=0)
    route_reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    policy_version: Mapped[str | None] = mapped_column(String(64))
    llm_advice: Mapped[Advice | None] = mapped_column(AdviceJSON)
    # The gate's decision: its route, the policy text's SHA-256 and every rule's result.
    gate_route: Mapped[str | None] = mapped_column(String(16))
    policy_sha256: Mapped[str | None] = mapped_column(String(64))
    rule_trace: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)

    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Decision(Base):
    __tablename__ = "decisions"
    # One decision per step, whatever races happen above it.
    __table_args__ = (UniqueConstraint("expense_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expense_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("expenses.id"), index=True)
    step: Mapped[int]
    role: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    # The approver the decider stood in for, under a delegation; None when they decided as
    # themselves.
    acting_for_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    expense_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("expenses.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    # "comment", an approver's "question" (the expense waits for it), or the submitter's "answer".
    kind: Mapped[str] = mapped_column(String(16), default="comment", server_default="comment")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
