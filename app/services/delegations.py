"""Out-of-office delegations: recording one, audited, and who holds an approver's now."""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import job_names
from app.db import enqueue_after_commit
from app.domain.audit import Actor, AuditAction, Channel, EventContext
from app.domain.errors import DomainError
from app.domain.workflow import Status
from app.services import audit
from models import ApprovalStep, Delegation, Employee, Expense


class DelegationRefused(DomainError):
    pass


def delegate(
    session: Session,
    *,
    principal: Employee,
    delegate: Employee,
    until: date,
    now: datetime,
    actor: Actor,
    channel: Channel,
) -> Delegation:
    """`delegate` decides `principal`'s steps from now to the end of `until` (UTC); this
    replaces any delegation `principal` gave before. Cards already waiting on `principal` are
    posted again, which sends the delegate their copy (each card is posted once)."""
    if principal.id == delegate.id:
        raise DelegationRefused("nobody can delegate to themselves")
    for person in (principal, delegate):
        if not person.active:
            raise DelegationRefused(f"{person.email} is deactivated")
    if until < now.date():
        raise DelegationRefused(f"{until.isoformat()} is in the past")
    session.execute(
        update(Delegation)
        .where(Delegation.principal_id == principal.id, Delegation.ends_at > now)
        .values(ends_at=now)
    )
    row = Delegation(
        principal_id=principal.id,
        delegate_id=delegate.id,
        starts_at=now,
        ends_at=datetime.combine(until + timedelta(days=1), time(), UTC),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        expense_id=None,
        actor=actor,
        action=AuditAction.DELEGATED,
        channel=channel,
        context=EventContext(
            details={
                "delegation_id": row.id,
                "from": principal.email,
                "to": delegate.email,
                "until": until.isoformat(),
            }
        ),
    )
    waiting = session.execute(
        select(ApprovalStep.expense_id, ApprovalStep.position)
        .join(Expense, Expense.id == ApprovalStep.expense_id)
        .where(
            ApprovalStep.assignee_id == principal.id,
            ApprovalStep.position == Expense.current_step,
            Expense.status == Status.PENDING_APPROVAL.value,
        )
    ).all()
    for expense_id, position in waiting:
        enqueue_after_commit(session, job_names.POST_APPROVAL_CARD, str(expense_id), position)
    return row


def delegate_of(session: Session, principal_id: int, at: datetime) -> Employee | None:
    """Who holds `principal_id`'s delegation at `at`, if anyone (and they are still active)."""
    return session.scalar(
        select(Employee)
        .join(Delegation, Delegation.delegate_id == Employee.id)
        .where(
            Delegation.principal_id == principal_id,
            Delegation.starts_at <= at,
            Delegation.ends_at > at,
            Employee.active.is_(True),
        )
        .order_by(Delegation.id.desc())
        .limit(1)
    )
