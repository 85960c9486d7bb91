"""Slack bookkeeping: the message outbox (exactly-once posts) and the request replay guard."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
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
    # The channel's pacing slot booked for this post; until then the sweeper leaves it alone.
    slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a card was last redrawn from the expense's state (after a decision).
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Slack refused it for good (channel_not_found, user_disabled...): not retried, shown to
    # operators (`expense-bot doctor`, GET /admin/delivery-problems).
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SlackRequestReceipt(Base):
    """Each Slack request once: a replay inside the window is ignored.

    A request that asks for a decision carries it here, written before Slack gets its 200, so a
    process that dies after acking loses nothing: whoever applies it marks it processed.
    """

    __tablename__ = "slack_request_receipts"

    signature: Mapped[str] = mapped_column(String(100), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # SQL NULL when there is none, so "IS NULL" finds requests without a decision.
    decision_request: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
    )
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SlackChannelPace(Base):
    """The next free send slot per channel, shared by every worker process."""

    __tablename__ = "slack_channel_pace"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_slot_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the last post to it began (or, after a 429, when Slack lets us post again less one
    # interval): no post starts within a second of another, whatever the slots say.
    last_post_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
