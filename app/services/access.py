"""Refused reads are audited: who asked for what, and why they were refused."""

import uuid

from sqlalchemy.orm import Session

from app.domain.audit import Actor, AuditAction, Channel, EventContext
from app.services import audit
from models import Employee


def record_refusal(
    session: Session,
    employee: Employee,
    *,
    reason: str,
    method: str,
    path: str,
    answer: int,
    expense_id: uuid.UUID | None = None,
) -> None:
    audit.record(
        session,
        expense_id=expense_id,
        actor=Actor.employee(employee.id, employee.email),
        action=AuditAction.ACCESS_REFUSED,
        channel=Channel.API,
        reason=reason,
        context=EventContext(details={"method": method, "path": path, "answer": answer}),
    )
