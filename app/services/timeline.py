"""Reading one expense's audit events back as timeline entries, with the actors' names."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.timeline import TimelineEntry, actor_label
from models import AuditEvent, Employee


def entries(session: Session, expense_id: uuid.UUID) -> list[TimelineEntry]:
    """Every event of the expense, in the order written."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.expense_id == expense_id).order_by(AuditEvent.id)
    ).all()
    ids = {e.actor_employee_id for e in events if e.actor_employee_id is not None}
    names: dict[int, str] = {}
    if ids:
        rows = session.execute(select(Employee.id, Employee.name).where(Employee.id.in_(ids)))
        names = {row.id: row.name for row in rows}
    return [
        TimelineEntry(
            id=e.id,
            seq=e.seq,
            hash=e.hash,
            created_at=e.created_at,
            action=e.action,
            channel=e.channel,
            actor=actor_label(
                e.actor_kind,
                e.actor_id,
                names.get(e.actor_employee_id) if e.actor_employee_id is not None else None,
            ),
            actor_kind=e.actor_kind,
            actor_id=e.actor_id,
            actor_email=e.actor_email,
            from_status=e.from_status,
            to_status=e.to_status,
            reason=e.reason,
            amount=e.amount,
            currency=e.currency,
            policy_amount=e.policy_amount,
            policy_currency=e.policy_currency,
            fx_rate=e.fx_rate,
            policy_version=e.policy_version,
            rule_trace=e.rule_trace,
            llm_model=e.llm_model,
            llm_recommendation=e.llm_recommendation,
            llm_confidence=e.llm_confidence,
            llm_reasons=e.llm_reasons,
            details=e.details,
        )
        for e in events
    ]
