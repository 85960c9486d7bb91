"""Expense intake and status: POST /expenses, GET /expenses/{id}."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from sqlalchemy.exc import IntegrityError

from app.api.deps import CurrentEmployee, DbDep
from app.api.schemas import Accepted, AuditEventOut, DecisionOut, ExpenseIn, ExpenseOut
from app.domain.money import in_minor_units
from app.services import expenses

router = APIRouter(prefix="/expenses", tags=["expenses"])

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
def submit_expense(
    body: ExpenseIn,
    employee: CurrentEmployee,
    db: DbDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    data = body.to_domain()
    try:
        with db.session() as session:
            expense, _created = expenses.submit(session, employee, data, idempotency_key)
    except IntegrityError:
        # A concurrent request with the same key won the insert; answer with its expense.
        with db.session() as session:
            expense, _created = expenses.submit(session, employee, data, idempotency_key)
    # The session has committed: the expense is durable before we answer.
    url = f"/expenses/{expense.id}"
    response.headers["Location"] = url
    return Accepted(id=expense.id, status=expense.status, status_url=url)


@router.get("/{expense_id}", response_model=ExpenseOut)
def get_expense(expense_id: uuid.UUID, employee: CurrentEmployee, db: DbDep) -> ExpenseOut:
    with db.session() as session:
        expense = expenses.get_for_viewer(session, expense_id, employee)
        decisions, events = expenses.history(session, expense.id)
        return ExpenseOut(
            id=expense.id,
            status=expense.status,
            amount=in_minor_units(expense.amount, expense.currency),
            currency=expense.currency,
            category=expense.category,
            merchant=expense.merchant,
            description=expense.description,
            incurred_on=expense.incurred_on,
            receipt_url=expense.receipt_url,
            steps=expense.steps,
            current_step=expense.current_step,
            route_reasons=expense.route_reasons,
            policy_version=expense.policy_version,
            llm_advice=expense.llm_advice,
            created_at=expense.created_at,
            decisions=[DecisionOut.model_validate(d) for d in decisions],
            history=[AuditEventOut.model_validate(e) for e in events],
        )
