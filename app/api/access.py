"""Refusing a read: the answer, and its audit event in a transaction of its own."""

import uuid

from fastapi import HTTPException, Request, status

from app.db import Database
from app.services.access import record_refusal
from models import Employee


def audit_refusal(
    db: Database,
    request: Request,
    employee: Employee,
    reason: str,
    *,
    answer: int = status.HTTP_403_FORBIDDEN,
    expense_id: uuid.UUID | None = None,
) -> None:
    # Its own transaction: the request's work (if any) rolls back, the refusal stays on record.
    with db.session() as session:
        record_refusal(
            session,
            employee,
            reason=reason,
            method=request.method,
            path=request.url.path,
            answer=answer,
            expense_id=expense_id,
        )


def forbidden(db: Database, request: Request, employee: Employee, message: str) -> HTTPException:
    """Record the refusal, and return the 403 to raise."""
    audit_refusal(db, request, employee, message)
    return HTTPException(status.HTTP_403_FORBIDDEN, message)
