"""Slack bookkeeping: the message outbox (exactly-once posts) and the request replay guard."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class SlackMessage(Base):
    __tablename__ = "slack_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "card:<expense>:<step>"; also sent as message metadata to find a post after a crash.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    # None for posts about no one expense, such as the daily audit witness.
    expense_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("expenses.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # The approval step a card belongs to; None for other kinds.
    step: Mapped[int | None]
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SlackRequestReceipt(Base):
    """Signatures of Slack requests already handled, so a replay inside the window is ignored."""

    __tablename__ = "slack_request_receipts"

    signature: Mapped[str] = mapped_column(String(100), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class SlackChannelPace(Base):
    """The next free send slot per channel, shared by every worker process."""

    __tablename__ = "slack_channel_pace"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_slot_at: Mapped[datetime] = mapped_column(UTCDateTime())
