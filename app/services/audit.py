"""Writing audit events in the caller's transaction, chained just before it commits.

`record` only queues the event on the session. When the transaction commits, the events are
linked onto the chain and inserted: the writer locks the single `audit_chain_head` row, takes the
next positions, inserts, moves the head and commits. The lock is held from there to the end of the
commit and no longer, so the critical section is a few statements, never a Slack call or an LLM
review. A rollback undoes the head and the events together: no gaps.
"""

import getpass
import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, event, insert, select, update
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
from app.domain.audit_chain import (
    FORMAT_VERSION,
    ChainPoint,
    EventContent,
    build_chain,
    canonical_content,
    event_document,
)
from models import AuditChainHead, AuditEvent
from models.base import utcnow

HEAD_ID = 1
_PENDING = "audit_events_pending"
GATE_ACTIONS = (AuditAction.AUTO_APPROVED.value, AuditAction.ROUTED_TO_HUMAN.value)


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
    session.info.setdefault(_PENDING, []).append((content, canonical_content(content)))
    return content


@event.listens_for(Session, "before_commit")
def _chain_pending_events(session: Session) -> None:
    pending: list[tuple[EventContent, bytes]] | None = session.info.pop(_PENDING, None)
    if pending:
        session.flush()  # the rows the events refer to go in first
        append(session.connection(), pending)


@event.listens_for(Session, "after_rollback")
def _forget_pending_events(session: Session) -> None:
    session.info.pop(_PENDING, None)


def append(conn: Connection, pending: Sequence[tuple[EventContent, bytes]]) -> None:
    """Link `pending` (content, canonical bytes) onto the chain and insert them.

    The head row stays locked until the caller's transaction ends, so call this last.
    """
    count = len(pending)
    head = conn.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(seq=AuditChainHead.seq + count)
        .returning(AuditChainHead.seq, AuditChainHead.hash)
    ).one_or_none()
    if head is None:
        raise RuntimeError("the audit chain head is missing; run `expense-bot migrate`")
    links = build_chain([body for _, body in pending], ChainPoint(head.seq - count, head.hash))
    rows = [
        {
            **event_document(content),
            "seq": seq,
            "prev_hash": prev_hash,
            "hash": digest,
            "format_version": FORMAT_VERSION,
        }
        for (content, _), (seq, prev_hash, digest) in zip(pending, links, strict=True)
    ]
    move_head = update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(hash=links[-1][2])
    if conn.dialect.name == "postgresql":
        # One round trip inside the lock: the insert rides along as a data-modifying CTE.
        conn.execute(move_head.add_cte(insert(AuditEvent).values(rows).cte("appended")))
    else:
        conn.execute(insert(AuditEvent), rows)
        conn.execute(move_head)


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
