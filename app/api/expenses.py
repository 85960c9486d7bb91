"""Expense intake, status and story: POST /expenses, GET /expenses/{id}[/timeline]."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.api.access import audit_refusal
from app.api.deps import CurrentEmployee, DbDep, SettingsDep, TokenHash, unauthorized
from app.api.problems import documented
from app.api.schemas import (
    Accepted,
    AdviceOut,
    AuditEventOut,
    DecisionOut,
    ExpenseIn,
    ExpenseOut,
    ReceiptFileOut,
    TimelineOut,
)
from app.db import Database
from app.domain.advice import Advice, LlmUnavailable
from app.domain.intake import check_claim
from app.domain.money import in_minor_units
from app.domain.policy import Policy
from app.domain.roles import Role
from app.domain.timeline import Viewer, story
from app.logs import bind
from app.policy_loader import load_policy
from app.services import audit, expenses, intake, timeline
from app.services.expenses import NewExpense, NotYours
from app.services.intake import Submitted
from models import Employee, Expense

router = APIRouter(
    prefix="/expenses", tags=["expenses"], responses=documented(400, 401, 413, 422, 429, 503)
)

# Visible ASCII only: the key is stored and compared byte for byte.
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$"),
]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=documented(409),
)
def submit_expense(
    body: ExpenseIn,
    token_hash: TokenHash,
    db: DbDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    data = body.to_domain()
    check_claim(
        load_policy(settings.policy_file),
        amount=data.amount,
        currency=data.currency,
        incurred_on=data.incurred_on,
        today=datetime.now(UTC).date(),
    )
    # One transaction: who is asking (read fresh: a revoked token fails now), then the expense.
    try:
        expense = _submit(db, token_hash, data, idempotency_key)
    except IntegrityError:
        # A concurrent request with the same key won the insert; answer with its expense.
        expense = _submit(db, token_hash, data, idempotency_key)
    request.state.intake_outcome = "accepted" if expense.created else "duplicate"
    # The session has committed: the expense is durable before we answer.
    bind(expense_id=expense.id)
    url = f"/expenses/{expense.id}"
    response.headers["Location"] = url
    return Accepted(id=expense.id, status=expense.status, status_url=url)


def _submit(
    db: Database, token_hash: str, data: NewExpense, idempotency_key: str | None
) -> Submitted:
    with db.session() as session:
        submitted = intake.submit_for_token(session, token_hash, data, idempotency_key)
        if submitted is None:
            raise unauthorized("invalid or revoked token")
        # Nothing follows: the audit event's chaining may carry the commit.
        audit.commit_with_chain(session)
        return submitted


def _advice(advice: Advice | None, *, show_reasons: bool) -> AdviceOut | None:
    if advice is None:
        return None
    if isinstance(advice, LlmUnavailable):
        return AdviceOut(
            recommendation=None,
            confidence=None,
            model=advice.model,
            reasons=None,
            unavailable=advice.reason,
        )
    return AdviceOut(
        recommendation=advice.recommendation,
        confidence=advice.confidence,
        confidence_method=advice.confidence_method,
        model=advice.model,
        reasons=list(advice.reasons) if show_reasons else None,
        unavailable=None,
    )


def expense_view(
    expense: Expense,
    decisions: list[DecisionOut],
    history: list[AuditEventOut] | None,
    *,
    show_reasons: bool,
) -> ExpenseOut:
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
        receipt_file=(
            ReceiptFileOut(sha256=expense.receipt_sha256, content_type=expense.receipt_content_type)
            if expense.receipt_sha256 and expense.receipt_content_type
            else None
        ),
        steps=expense.steps,
        current_step=expense.current_step,
        route_reasons=expense.route_reasons,
        policy_version=expense.policy_version,
        llm_advice=_advice(expense.llm_advice, show_reasons=show_reasons),
        created_at=expense.created_at,
        decisions=decisions,
        history=history,
    )


def _sees_everything(viewer: Employee) -> bool:
    return Role.AUDITOR.value in viewer.roles


def _shows_reasons(viewer: Employee, policy: Policy) -> bool:
    return _sees_everything(viewer) or policy.show_ai_reasons_to_submitter


@contextmanager
def _refusals_audited(
    db: Database, request: Request, viewer: Employee, expense_id: uuid.UUID
) -> Iterator[None]:
    """Someone else's expense is a 404, as if it did not exist; the attempt is audited."""
    try:
        yield
    except NotYours:
        audit_refusal(
            db, request, viewer, "the expense is not theirs", answer=404, expense_id=expense_id
        )
        raise


@router.get("/{expense_id}", response_model=ExpenseOut, responses=documented(404))
def get_expense(
    expense_id: uuid.UUID,
    employee: CurrentEmployee,
    db: DbDep,
    settings: SettingsDep,
    request: Request,
) -> ExpenseOut:
    """Submitters see their own expense and its decisions; auditors also see the audit history."""
    bind(expense_id=expense_id)
    with _refusals_audited(db, request, employee, expense_id), db.session() as session:
        expense = expenses.get_for_viewer(session, expense_id, employee)
        decisions = [
            DecisionOut(
                step=d.step,
                role=d.role,
                outcome=d.outcome,
                decided_by=name,
                acting_for=acting_for,
                slack_user_id=d.slack_user_id,
                reason=d.reason,
                decided_at=d.decided_at,
            )
            for d, name, acting_for in expenses.decisions_with_deciders(session, expense.id)
        ]
        history = None
        if _sees_everything(employee):
            history = [
                AuditEventOut.model_validate(e) for e in expenses.history(session, expense.id)
            ]
        return expense_view(
            expense,
            decisions,
            history,
            show_reasons=_shows_reasons(employee, load_policy(settings.policy_file)),
        )


@router.get("/{expense_id}/timeline", response_model=TimelineOut, responses=documented(404))
def get_timeline(
    expense_id: uuid.UUID,
    employee: CurrentEmployee,
    db: DbDep,
    settings: SettingsDep,
    request: Request,
) -> TimelineOut:
    """The expense's whole story in order: for its submitter (scoped) and for auditors."""
    bind(expense_id=expense_id)
    viewer = Viewer(
        sees_everything=_sees_everything(employee),
        sees_ai_reasons=_shows_reasons(employee, load_policy(settings.policy_file)),
    )
    with _refusals_audited(db, request, employee, expense_id), db.session() as session:
        expense = expenses.get_for_viewer(session, expense_id, employee)
        submitter = session.scalar(select(Employee.name).where(Employee.id == expense.submitter_id))
        entries = story(timeline.entries(session, expense_id), viewer)
        return TimelineOut(
            expense_id=expense.id,
            status=expense.status,
            submitter=submitter or "",
            amount=in_minor_units(expense.amount, expense.currency),
            currency=expense.currency,
            category=expense.category,
            merchant=expense.merchant,
            entries=entries,
        )
