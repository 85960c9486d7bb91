"""Submitting expenses (idempotently) and reading them back for their owner."""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app import job_names
from app.db import enqueue_after_commit
from app.domain.audit import Actor, AuditAction, Channel, EventContext, Valuation
from app.domain.errors import IdempotencyConflict, NotFound
from app.domain.history import merchant_key, receipt_sha256
from app.domain.money import in_minor_units
from app.domain.roles import Role
from app.domain.workflow import Status
from app.services import audit
from models import AuditEvent, Decision, Employee, Expense


@dataclass(frozen=True, slots=True)
class NewExpense:
    amount: Decimal
    currency: str
    category: str
    merchant: str
    description: str
    incurred_on: date
    receipt_url: str | None = None

    def values(self) -> dict[str, Any]:
        """The fields by name; unlike `asdict`, without deep-copying values that are immutable."""
        return {name: getattr(self, name) for name in FIELDS}

    def derived(self) -> dict[str, Any]:
        """The stored columns computed from the claim, which the history rules search on."""
        return {
            "receipt_sha256": receipt_sha256(self.receipt_url),
            "merchant_key": merchant_key(self.merchant),
        }

    def fingerprint(self) -> str:
        """A stable hash of the request body, to tell a retry from a different request."""
        canonical = json.dumps(self.values(), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


FIELDS = tuple(field.name for field in fields(NewExpense))


def _by_key(session: Session, submitter_id: int, key: str) -> Expense | None:
    stmt = select(Expense).where(
        Expense.submitter_id == submitter_id, Expense.idempotency_key == key
    )
    return session.scalar(stmt)


def submit(
    session: Session, submitter: Employee, data: NewExpense, idempotency_key: str | None
) -> tuple[Expense, bool]:
    """Store the expense and queue its evaluation; returns (expense, created)."""
    fingerprint = data.fingerprint()
    if idempotency_key is not None:
        existing = _by_key(session, submitter.id, idempotency_key)
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise IdempotencyConflict(
                    "this Idempotency-Key was already used with a different body"
                )
            return existing, False
    expense = Expense(
        submitter_id=submitter.id,
        status=Status.SUBMITTED.value,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        **data.values(),
        **data.derived(),
    )
    session.add(expense)
    session.flush()
    record_submission(session, expense.id, Actor.employee(submitter.id, submitter.email), data)
    return expense, True


def record_submission(
    session: Session, expense_id: uuid.UUID, submitter: Actor, data: NewExpense
) -> None:
    """The audit event and the evaluation job of a newly stored expense, both at commit."""
    audit.record(
        session,
        expense_id=expense_id,
        actor=submitter,
        action=AuditAction.SUBMITTED,
        channel=Channel.API,
        to_status=Status.SUBMITTED.value,
        context=EventContext(
            valuation=Valuation(in_minor_units(data.amount, data.currency), data.currency),
            details={"category": data.category, "merchant": data.merchant},
        ),
    )
    enqueue_after_commit(session, job_names.EVALUATE_EXPENSE, str(expense_id))


class NotYours(NotFound):
    """The expense exists but is someone else's: answered like a missing one, but audited."""


def get_for_viewer(session: Session, expense_id: uuid.UUID, viewer: Employee) -> Expense:
    """Employees see only their own expenses; auditors see every expense."""
    expense = session.get(Expense, expense_id)
    if expense is None:
        raise NotFound("no such expense")
    if expense.submitter_id != viewer.id and Role.AUDITOR.value not in viewer.roles:
        raise NotYours("no such expense")
    return expense


def decisions_with_deciders(
    session: Session, expense_id: uuid.UUID
) -> Sequence[tuple[Decision, str | None, str | None]]:
    """Each decision on the expense, in step order, with the name of who made it and of the
    approver they stood in for, if a delegate decided."""
    principal = aliased(Employee)
    stmt = (
        select(Decision, Employee.name, principal.name)
        .outerjoin(Employee, Employee.id == Decision.decided_by_id)
        .outerjoin(principal, principal.id == Decision.acting_for_id)
        .where(Decision.expense_id == expense_id)
        .order_by(Decision.step)
    )
    return [(decision, name, acting) for decision, name, acting in session.execute(stmt).all()]


def history(session: Session, expense_id: uuid.UUID) -> Sequence[AuditEvent]:
    return audit.list_events(session, after_id=None, limit=500, expense_id=expense_id)
