"""Turning an auditor's filter into SQL over the audit log, and reading filtered pages of it."""

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import ColumnElement, Numeric, Select, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from app.domain.audit import AuditAction
from app.domain.audit_filter import AuditFilter, DecidedBy
from app.services.audit import GATE_ACTIONS
from models import AuditEvent, Decision, Employee, Expense


def policy_amount(policy_currency: str) -> ColumnElement[Decimal]:
    """An expense's amount in the policy currency, at the rate recorded when it was evaluated.

    Before evaluation (or with no rate) only an expense already in the policy currency has one.
    """
    gate = (
        select(cast(AuditEvent.policy_amount, Numeric(18, 4)))
        .where(AuditEvent.expense_id == Expense.id, AuditEvent.action.in_(GATE_ACTIONS))
        .order_by(AuditEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    same_currency = case((Expense.currency == policy_currency, Expense.amount))
    return func.coalesce(gate, same_currency)


def matching_expenses(flt: AuditFilter, policy_currency: str) -> Select[tuple[object]]:
    """The ids of the expenses the expense-describing filters select."""
    stmt: Select[tuple[object]] = select(Expense.id)
    if flt.submitter is not None:
        stmt = stmt.join(Employee, Employee.id == Expense.submitter_id).where(
            func.lower(Employee.email) == flt.submitter
        )
    if flt.category is not None:
        stmt = stmt.where(func.lower(Expense.category) == flt.category)
    if flt.outcome is not None:
        stmt = stmt.where(Expense.status == flt.outcome)
    if flt.decided_by is DecidedBy.AI:
        stmt = stmt.where(
            exists().where(
                AuditEvent.expense_id == Expense.id,
                AuditEvent.action.in_(
                    (AuditAction.AUTO_APPROVED.value, AuditAction.AUTO_REJECTED.value)
                ),
            )
        )
    elif flt.decided_by is DecidedBy.HUMAN:
        stmt = stmt.where(exists().where(Decision.expense_id == Expense.id))
    if flt.min_amount is not None or flt.max_amount is not None:
        amount = policy_amount(policy_currency)
        if flt.min_amount is not None:
            stmt = stmt.where(amount >= flt.min_amount)
        if flt.max_amount is not None:
            stmt = stmt.where(amount <= flt.max_amount)
    return stmt


def conditions(flt: AuditFilter, policy_currency: str) -> list[ColumnElement[bool]]:
    """WHERE clauses on audit_events for every filter given."""
    where: list[ColumnElement[bool]] = []
    if flt.since is not None:
        where.append(AuditEvent.created_at >= flt.since)
    if flt.until is not None:
        where.append(AuditEvent.created_at < flt.until)
    if flt.expense_id is not None:
        where.append(AuditEvent.expense_id == flt.expense_id)
    if flt.actor is not None:
        actor = flt.actor.lower()
        where.append(
            or_(
                func.lower(AuditEvent.actor_email) == actor,
                func.lower(AuditEvent.actor_id) == actor,
            )
        )
    if flt.action is not None:
        where.append(AuditEvent.action == flt.action)
    if flt.policy_version is not None:
        where.append(AuditEvent.policy_version == flt.policy_version)
    if flt.selects_expenses:
        where.append(AuditEvent.expense_id.in_(matching_expenses(flt, policy_currency)))
    return where


def list_events(
    session: Session,
    flt: AuditFilter,
    policy_currency: str,
    *,
    after_id: int | None,
    limit: int,
) -> Sequence[AuditEvent]:
    """Matching events in the order they were written, after the cursor `after_id`."""
    stmt = select(AuditEvent).where(*conditions(flt, policy_currency))
    if after_id is not None:
        stmt = stmt.where(AuditEvent.id > after_id)
    return session.scalars(stmt.order_by(AuditEvent.id).limit(limit)).all()
