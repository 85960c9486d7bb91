"""The auditors' reports, read from the audit log under the same filters as the exports."""

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session, aliased

from app.domain.audit import AuditAction
from app.domain.audit_chain import utc_text
from app.domain.audit_filter import AuditFilter
from app.domain.audit_reports import (
    TIMING_COLUMNS,
    VERDICTS,
    Report,
    ReportName,
    StepEvent,
    against_advice,
    decision_times,
    draw_sample,
    timing_rows,
)
from app.services.audit_query import conditions
from models import AuditEvent, Employee, Expense

Submitter = aliased(Employee)
SAMPLE_COLUMNS = (
    "rank",
    "expense_id",
    "approved_at",
    "submitter_email",
    "submitter_name",
    "category",
    "merchant",
    "amount",
    "currency",
    "policy_amount",
    "policy_currency",
    "policy_version",
    "llm_model",
    "llm_recommendation",
    "llm_confidence",
    "event_id",
    "seed",
    "rate",
    "population",
)
SOD_COLUMNS = (
    "at",
    "event_id",
    "expense_id",
    "code",
    "attempted",
    "step",
    "actor_slack_id",
    "actor_email",
    "submitter_email",
    "reason",
)
OVERRIDE_COLUMNS = (
    "at",
    "event_id",
    "expense_id",
    "step",
    "role",
    "decision",
    "approver_email",
    "approver_slack_id",
    "llm_recommendation",
    "llm_confidence",
    "llm_model",
    "amount",
    "currency",
    "reason",
    "submitter_email",
)


def _with_expense(where: Sequence[ColumnElement[bool]], *columns: Any) -> Select[Any]:
    """Matching events joined to their expense and its submitter, in the order written."""
    return (
        select(*columns)
        .join(Expense, Expense.id == AuditEvent.expense_id)
        .join(Submitter, Submitter.id == Expense.submitter_id)
        .where(*where)
        .order_by(AuditEvent.id)
    )


def sample(
    session: Session, flt: AuditFilter, currency: str, *, rate: Decimal, seed: str
) -> Report:
    """Auto-approved expenses, a `rate` of them drawn reproducibly with `seed`."""
    where = [*conditions(flt, currency), AuditEvent.action == AuditAction.AUTO_APPROVED.value]
    keys = [str(k) for k in session.scalars(select(AuditEvent.expense_id).where(*where))]
    chosen = draw_sample(keys, rate, seed)
    rows: list[tuple[Any, ...]] = []
    if chosen:
        rank = {key: i for i, key in enumerate(chosen, start=1)}
        stmt = _with_expense(
            [*where, AuditEvent.expense_id.in_([uuid.UUID(k) for k in chosen])],
            AuditEvent,
            Expense,
            Submitter.email,
            Submitter.name,
        )
        for event, expense, email, name in session.execute(stmt):
            key = str(expense.id)
            rows.append(
                (
                    rank[key],
                    key,
                    utc_text(event.created_at),
                    email,
                    name,
                    expense.category,
                    expense.merchant,
                    event.amount,
                    event.currency,
                    event.policy_amount,
                    event.policy_currency,
                    event.policy_version,
                    event.llm_model,
                    event.llm_recommendation,
                    event.llm_confidence,
                    event.id,
                    seed,
                    str(rate),
                    len(set(keys)),
                )
            )
        rows.sort(key=lambda row: row[0])
    parameters = {"seed": seed, "rate": str(rate), "population": str(len(set(keys)))}
    return Report(ReportName.SAMPLE, SAMPLE_COLUMNS, rows, parameters)


def sod(session: Session, flt: AuditFilter, currency: str) -> Report:
    """Refused decisions: self-approval, a step outside the clicker's role, unknown users."""
    where = [*conditions(flt, currency), AuditEvent.action == AuditAction.DECISION_REFUSED.value]
    stmt = _with_expense(where, AuditEvent, Submitter.email)
    rows = [
        (
            utc_text(event.created_at),
            event.id,
            str(event.expense_id),
            event.details.get("code"),
            event.details.get("attempted"),
            event.details.get("step"),
            event.actor_id if event.actor_kind == "slack_user" else None,
            event.actor_email,
            submitter,
            event.reason,
        )
        for event, submitter in session.execute(stmt)
    ]
    return Report(ReportName.SOD, SOD_COLUMNS, rows)


def overrides(session: Session, flt: AuditFilter, currency: str) -> Report:
    """Human decisions that went against the AI's recommendation."""
    where = [*conditions(flt, currency), AuditEvent.action.in_(list(VERDICTS))]
    stmt = _with_expense(where, AuditEvent, Submitter.email)
    rows = [
        (
            utc_text(event.created_at),
            event.id,
            str(event.expense_id),
            event.details.get("step"),
            event.details.get("role"),
            VERDICTS[event.action],
            event.actor_email,
            event.actor_id,
            event.llm_recommendation,
            event.llm_confidence,
            event.llm_model,
            event.amount,
            event.currency,
            event.reason,
            submitter,
        )
        for event, submitter in session.execute(stmt)
        if against_advice(event.action, event.llm_recommendation)
    ]
    return Report(ReportName.OVERRIDES, OVERRIDE_COLUMNS, rows)


def timing(session: Session, flt: AuditFilter, currency: str) -> Report:
    """Time to decision per step and per approver, over the matching human decisions."""
    decided = [*conditions(flt, currency), AuditEvent.action.in_(list(VERDICTS))]
    matching = set(session.scalars(select(AuditEvent.id).where(*decided)))
    # Each step's clock starts at an event the filter may not select (the routing, say).
    steps = (*VERDICTS, AuditAction.ROUTED_TO_HUMAN.value)
    expense_ids = select(AuditEvent.expense_id).where(*decided)
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.expense_id.in_(expense_ids), AuditEvent.action.in_(steps))
        .order_by(AuditEvent.expense_id, AuditEvent.id)
    )
    by_expense: dict[Any, list[StepEvent]] = {}
    for event in session.scalars(stmt):
        by_expense.setdefault(event.expense_id, []).append(
            StepEvent(
                event.id,
                event.action,
                event.created_at,
                event.details.get("step"),
                event.details.get("role"),
                event.actor_email or event.actor_id,
            )
        )
    times = [
        time
        for events in by_expense.values()
        for time in decision_times(events)
        if time.event_id in matching
    ]
    return Report(ReportName.TIMING, TIMING_COLUMNS, timing_rows(times))


def build(
    session: Session,
    name: ReportName,
    flt: AuditFilter,
    currency: str,
    *,
    rate: Decimal,
    seed: str,
) -> Report:
    if name is ReportName.SAMPLE:
        return sample(session, flt, currency, rate=rate, seed=seed)
    return {ReportName.SOD: sod, ReportName.OVERRIDES: overrides, ReportName.TIMING: timing}[name](
        session, flt, currency
    )
