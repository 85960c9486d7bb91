"""Slack messages that Slack refused for good, for operators to see and fix."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import SlackMessage


def delivery_problems(
    session: Session, *, since: datetime, limit: int = 100
) -> Sequence[SlackMessage]:
    """Newest first: which expense, what kind of message, where, and Slack's error."""
    return session.scalars(
        select(SlackMessage)
        .where(SlackMessage.failed_at.is_not(None), SlackMessage.failed_at >= since)
        .order_by(SlackMessage.failed_at.desc())
        .limit(limit)
    ).all()
