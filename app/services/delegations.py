"""Out-of-office delegations: recording one, audited, and who holds an approver's now."""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.domain.audit import Actor, AuditAction, Channel, EventContext
from app.domain.errors import DomainError
from app.services import audit
from models import Delegation, Employee


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
    replaces any delegation `principal` gave before."""
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
