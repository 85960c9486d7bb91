"""Auditing Slack requests that were refused before reaching any expense."""

from sqlalchemy.orm import Session

from app.domain.audit import Actor, ActorKind, AuditAction, Channel
from app.services import audit


def record_foreign_request(session: Session, *, slack_user_id: str | None, reason: str) -> None:
    """A request signed with our secret but from another workspace, app or organisation."""
    audit.record(
        session,
        expense_id=None,
        actor=Actor(ActorKind.SLACK_USER, slack_user_id),
        action=AuditAction.SLACK_REQUEST_REFUSED,
        channel=Channel.SLACK,
        reason=reason,
    )
