"""Writing audit events in the caller's transaction, and reading them page by page."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit import ActorKind, AuditAction
from models import AuditEvent


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str | None


SYSTEM = Actor(ActorKind.SYSTEM, "worker")


@dataclass(frozen=True, slots=True)
class EventContext:
    """What the auditor needs to know about the decision beyond who and what."""

    policy_version: str | None = None
    llm_model: str | None = None
    llm_confidence: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def record(
    session: Session,
    *,
    expense_id: uuid.UUID | None,
    actor: Actor,
    action: AuditAction,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    context: EventContext | None = None,
) -> AuditEvent:
    ctx = context or EventContext()
    event = AuditEvent(
        expense_id=expense_id,
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        action=action.value,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        policy_version=ctx.policy_version,
        llm_model=ctx.llm_model,
        llm_confidence=ctx.llm_confidence,
        details=ctx.details,
    )
    session.add(event)
    session.flush()
    return event


def list_events(
    session: Session, *, after_id: int | None, limit: int, expense_id: uuid.UUID | None = None
) -> Sequence[AuditEvent]:
    """Events in the order they were written, after the cursor `after_id`."""
    stmt = select(AuditEvent).order_by(AuditEvent.id).limit(limit)
    if after_id is not None:
        stmt = stmt.where(AuditEvent.id > after_id)
    if expense_id is not None:
        stmt = stmt.where(AuditEvent.expense_id == expense_id)
    return session.scalars(stmt).all()
