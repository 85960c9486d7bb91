"""Submitting an expense for a bearer token in one round trip (on PostgreSQL).

One statement finds the token's live holder and any earlier expense under the same
Idempotency-Key, and inserts the new expense if there is none. The token is read in the
request's own transaction, never cached: a revocation holds from the very next request. Other
databases (SQLite, the embedded default) take the same steps one statement at a time.
"""

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import CTE, Select, exists, literal, null, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.domain.audit import Actor
from app.domain.errors import IdempotencyConflict
from app.domain.workflow import Status
from app.services import expenses
from app.services.employees import authenticate_hash, live_token_holder
from app.services.expenses import NewExpense
from models import Employee, Expense
from models.base import utcnow

# A request that loses the insert to a concurrent one with its key reads again; the winner has
# committed by then (ON CONFLICT waits for it), so one more read is enough.
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Submitted:
    id: uuid.UUID
    status: Status
    created: bool


def submit_for_token(
    session: Session, token_hash: str, data: NewExpense, idempotency_key: str | None
) -> Submitted | None:
    """The stored expense (or a retry's original); None when the token is not a live one."""
    if session.get_bind().dialect.name != "postgresql":
        employee = authenticate_hash(session, token_hash)
        if employee is None:
            return None
        expense, created = expenses.submit(session, employee, data, idempotency_key)
        return Submitted(expense.id, expense.status, created)
    fingerprint = data.fingerprint()
    for _ in range(ATTEMPTS):
        new_id = uuid.uuid4()
        stmt = _submission(token_hash, data, idempotency_key, new_id, fingerprint)
        row = session.execute(stmt).one_or_none()
        if row is None:
            return None
        holder_id, email, earlier_id, earlier_status, earlier_hash, added = row
        if earlier_id is not None:
            if earlier_hash != fingerprint:
                raise IdempotencyConflict(
                    "this Idempotency-Key was already used with a different body"
                )
            return Submitted(earlier_id, Status(earlier_status), created=False)
        if added:
            actor = Actor.employee(holder_id, email)
            expenses.record_submission(session, new_id, actor, data)
            return Submitted(new_id, Status.SUBMITTED, created=True)
    raise RuntimeError("an expense under this Idempotency-Key was neither found nor stored")


def _submission(
    token_hash: str,
    data: NewExpense,
    idempotency_key: str | None,
    new_id: uuid.UUID,
    fingerprint: str,
) -> Select[Any]:
    """holder id, email, earlier id, status, request hash, and whether the insert happened."""
    holder = live_token_holder(token_hash, Employee.id, Employee.email).cte("holder")
    earlier: CTE | None = None
    if idempotency_key is not None:
        earlier = (
            select(Expense.id, Expense.status, Expense.request_hash)
            .where(Expense.submitter_id == holder.c.id)
            .where(Expense.idempotency_key == idempotency_key)
            .cte("earlier")
        )
    now = utcnow()
    values: dict[str, Any] = {
        "id": new_id,
        **asdict(data),
        "status": Status.SUBMITTED,
        "steps": [],
        "current_step": 0,
        "route_reasons": [],
        "idempotency_key": idempotency_key,
        "request_hash": fingerprint,
        "created_at": now,
        "updated_at": now,
    }
    columns = Expense.__table__.c
    source = select(
        holder.c.id.label("submitter_id"),
        *(literal(value, columns[name].type).label(name) for name, value in values.items()),
    )
    if earlier is not None:
        source = source.where(~exists(select(earlier.c.id)))
    added = (
        insert(Expense)
        .from_select(["submitter_id", *values], source)
        .on_conflict_do_nothing(index_elements=["submitter_id", "idempotency_key"])
        .returning(Expense.id)
        .cte("added")
    )
    found = (
        (earlier.c.id, earlier.c.status, earlier.c.request_hash)
        if earlier is not None
        else (null(), null(), null())
    )
    stmt = select(holder.c.id, holder.c.email, *found, exists(select(added.c.id)))
    if earlier is not None:
        return stmt.select_from(holder.outerjoin(earlier, true()))
    return stmt.select_from(holder)
