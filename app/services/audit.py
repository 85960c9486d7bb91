"""Writing audit events in the caller's transaction, chained just before it commits.

`record` only queues the event on the session, serialised already. When the transaction commits,
`audit_append` links the events onto the chain and inserts them, under a lock held from there to
the end of the commit: never across a Slack call, an LLM review or a slow query. A rollback
drops the queued events, or undoes them together with the chain head: no gaps.
"""

import getpass
import uuid
from collections.abc import Sequence

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.domain.audit import (
    Actor,
    ActorKind,
    AuditAction,
    Channel,
    EventContext,
    Valuation,
    event_content,
)
from app.domain.audit_chain import EventContent, canonical_values, stored_values
from app.services.audit_append import Pending, append
from models import AuditEvent
from models.base import utcnow

_PENDING = "audit_events_pending"
_COMMIT_WITH_CHAIN = "audit_commit_with_chain"
GATE_ACTIONS = (
    AuditAction.AUTO_APPROVED.value,
    AuditAction.AUTO_REJECTED.value,
    AuditAction.ROUTED_TO_HUMAN.value,
)


def cli_operator() -> Actor:
    return Actor(ActorKind.CLI_OPERATOR, getpass.getuser())


def record(
    session: Session,
    *,
    expense_id: uuid.UUID | None,
    actor: Actor,
    action: AuditAction,
    channel: Channel,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    context: EventContext | None = None,
) -> EventContent:
    """Queue an event; it is chained and written when (and only if) the transaction commits."""
    content = event_content(
        created_at=utcnow(),
        expense_id=expense_id,
        actor=actor,
        action=action,
        channel=channel,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        context=context or EventContext(),
    )
    # Serialised now, outside the lock that chaining takes at commit.
    stored = stored_values(content)
    session.info.setdefault(_PENDING, []).append(Pending(content, stored, canonical_values(stored)))
    return content


def commit_with_chain(session: Session) -> None:
    """Let the statement that chains this transaction's events carry its COMMIT too.

    For a boundary that commits as soon as its work is done (the intake request): the chain
    head's lock is then held only inside the server, never across a round trip to this process.
    """
    session.info[_COMMIT_WITH_CHAIN] = True


@event.listens_for(Session, "before_commit")
def _chain_pending_events(session: Session) -> None:
    pending: list[Pending] | None = session.info.pop(_PENDING, None)
    commit = session.info.pop(_COMMIT_WITH_CHAIN, False)
    if pending:
        session.flush()  # the rows the events refer to go in first
        append(session.connection(), pending, commit=commit)


@event.listens_for(Session, "after_rollback")
def _forget_pending_events(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_COMMIT_WITH_CHAIN, None)


def gate_valuation(
    session: Session, expense_id: uuid.UUID, amount: str, currency: str
) -> Valuation:
    """The expense's amount, with the policy conversion the gate recorded for it."""
    converted = session.execute(
        select(AuditEvent.policy_amount, AuditEvent.policy_currency, AuditEvent.fx_rate)
        .where(AuditEvent.expense_id == expense_id, AuditEvent.action.in_(GATE_ACTIONS))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).one_or_none()
    if converted is None:
        return Valuation(amount, currency)
    return Valuation(amount, currency, *converted)


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
