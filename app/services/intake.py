"""Submitting an expense for a bearer token in one round trip (on PostgreSQL).

One statement finds the token's live holder and any earlier expense under the same
Idempotency-Key, and inserts the new expense if there is none. The token is read in the
request's own transaction, never cached: a revocation holds from the very next request. Other
databases (SQLite, the embedded default) take the same steps one statement at a time.
"""

import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import CTE, Select, bindparam, exists, literal, null, select, true
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
    now = utcnow()
    stmt = _submission(with_key=idempotency_key is not None)
    for _ in range(ATTEMPTS):
        new_id = uuid.uuid4()
        params = {
            **data.values(),
            **data.derived(),
            "token_hash": token_hash,
            "id": new_id,
            "idempotency_key": idempotency_key,
            "request_hash": fingerprint,
            "created_at": now,
            "updated_at": now,
        }
        row = session.execute(stmt, params).one_or_none()
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


# What every new expense starts with; the rest of the row comes from the request.
_INITIAL: dict[str, Any] = {
    "status": Status.SUBMITTED,
    "steps": [],
    "current_step": 0,
    "route_reasons": [],
}
_FROM_REQUEST = (
    *expenses.FIELDS,
    "id",
    "idempotency_key",
    "request_hash",
    "receipt_sha256",
    "merchant_key",
    "created_at",
    "updated_at",
)


@lru_cache(maxsize=2)
def _submission(*, with_key: bool) -> Select[Any]:
    """holder id, email, earlier id, status, request hash, and whether the insert happened.

    Built once: each request only binds its values, and the compiled form is reused.
    """
    holder = live_token_holder(bindparam("token_hash"), Employee.id, Employee.email).cte("holder")
    columns = Expense.__table__.c
    earlier: CTE | None = None
    if with_key:
        earlier = (
            select(Expense.id, Expense.status, Expense.request_hash)
            .where(Expense.submitter_id == holder.c.id)
            .where(Expense.idempotency_key == bindparam("idempotency_key"))
            .cte("earlier")
        )
    source = select(
        holder.c.id.label("submitter_id"),
        *(bindparam(name, type_=columns[name].type).label(name) for name in _FROM_REQUEST),
        *(literal(value, columns[name].type).label(name) for name, value in _INITIAL.items()),
    )
    if earlier is not None:
        source = source.where(~exists(select(earlier.c.id)))
    added = (
        insert(Expense)
        .from_select(["submitter_id", *_FROM_REQUEST, *_INITIAL], source)
        .on_conflict_do_nothing(index_elements=["submitter_id", "idempotency_key"])
        .returning(Expense.id)
        .cte("added")
    )
    if earlier is None:
        found = select(holder.c.id, holder.c.email, null(), null(), null()).select_from(holder)
    else:
        found = select(
            holder.c.id, holder.c.email, earlier.c.id, earlier.c.status, earlier.c.request_hash
        ).select_from(holder.outerjoin(earlier, true()))
    return found.add_columns(exists(select(added.c.id)))
