"""Exactly-once Slack posts: an outbox row per message, a lease, and reconciliation after a crash.

A worker can die after Slack accepted a post but before we stored its `ts`. Each post carries
its dedupe key as message metadata, so a retry first looks for it in the channel history.
"""

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Database
from models import SlackMessage
from models.base import utcnow
from slack.blocks import Block
from slack.ids import METADATA_EVENT_TYPE
from slack.pacing import MAX_WAIT, PaceLater, hold_channel, reserve_slot, take_turn, wait_until

LEASE = timedelta(seconds=60)


class DeliveryBusy(Exception):
    """Another worker holds the lease on this message; try again later."""


# Slack's answers that no retry can change.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "user_disabled",
        "user_not_found",
        "cannot_dm_bot",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
    }
)


class PermanentFailure(Exception):
    """Slack refused this message for good; it is recorded and not retried."""

    def __init__(self, dedupe_key: str, error: str) -> None:
        super().__init__(f"{dedupe_key}: {error}")
        self.dedupe_key = dedupe_key
        self.error = error


def permanent_error(exc: SlackApiError) -> str | None:
    error = exc.response.get("error")
    return error if isinstance(error, str) and error in PERMANENT_ERRORS else None


def record_failure(db: Database, post: "Post", error: str) -> PermanentFailure:
    """Mark the message failed (creating its outbox row if need be) for operators to see."""
    with db.session() as session:
        row = _outbox_row(session, post)
        row.failed_at = utcnow()
        row.error = error[:64]
    return PermanentFailure(post.dedupe_key, error)


@dataclass(frozen=True, slots=True)
class Post:
    dedupe_key: str
    expense_id: uuid.UUID | None
    kind: str
    channel: str
    text: str
    blocks: list[Block] | None = None
    thread_ts: str | None = None
    step: int | None = None


def _outbox_row(session: Session, post: Post) -> SlackMessage:
    row = session.scalar(select(SlackMessage).where(SlackMessage.dedupe_key == post.dedupe_key))
    if row is None:
        row = SlackMessage(
            dedupe_key=post.dedupe_key,
            expense_id=post.expense_id,
            kind=post.kind,
            channel=post.channel,
            step=post.step,
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise DeliveryBusy(post.dedupe_key) from None
    return row


def _booked_slot(db: Database, post: Post) -> datetime | None:
    """The post's pacing slot, booked once and kept on its outbox row; None if already sent."""
    with db.session() as session:
        row = _outbox_row(session, post)
        if row.sent_at is not None:
            return None
        if row.slot_at is not None:
            return row.slot_at
    slot = reserve_slot(db, post.channel)
    with db.session() as session:
        session.execute(
            update(SlackMessage)
            .where(SlackMessage.dedupe_key == post.dedupe_key, SlackMessage.slot_at.is_(None))
            .values(slot_at=slot)
        )
        # A racing worker may have stored its own slot first: everyone keeps that one.
        return session.scalar(
            select(SlackMessage.slot_at).where(SlackMessage.dedupe_key == post.dedupe_key)
        )


def _rebook(db: Database, post: Post, retry_after: float) -> None:
    """A 429: the channel pauses for Retry-After, and this post gives up its slot.

    Its old slot is in the past by the time the retry comes; posting then would land on top of
    whichever post holds the current slot. The retry books a fresh one after the pause.
    """
    hold_channel(db, post.channel, retry_after)
    with db.session() as session:
        session.execute(
            update(SlackMessage)
            .where(SlackMessage.dedupe_key == post.dedupe_key, SlackMessage.sent_at.is_(None))
            .values(slot_at=None)
        )


def _wait_for_turn(db: Database, post: Post, previous_attempt: datetime | None) -> None:
    """Start the post no sooner than a second after the channel's last one began."""
    while (wait := take_turn(db, post.channel)) > 0:
        if wait > MAX_WAIT.total_seconds():  # a 429 pause: come back then, holding no lease
            _release(db, post.dedupe_key, previous_attempt)
            raise PaceLater(wait)
        time.sleep(wait)


def _claim(db: Database, post: Post) -> tuple[SlackMessage | None, datetime | None]:
    """Take the lease: (None, previous attempt time) if we hold it, (row, None) if already sent."""
    with db.session() as session:
        row = _outbox_row(session, post)
        if row.sent_at is not None:
            return row, None
        if row.failed_at is not None:  # refused for good before: don't ask Slack again
            raise PermanentFailure(post.dedupe_key, row.error or "failed")
        previous = row.attempted_at
        now = utcnow()
        claimed = session.execute(
            update(SlackMessage)
            .where(
                SlackMessage.id == row.id,
                SlackMessage.sent_at.is_(None),
                or_(SlackMessage.attempted_at.is_(None), SlackMessage.attempted_at < now - LEASE),
            )
            .values(attempted_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            raise DeliveryBusy(post.dedupe_key)
    return None, previous


def _find_posted(client: WebClient, post: Post, since: datetime) -> dict[str, Any] | None:
    oldest = f"{(since - LEASE).timestamp():.6f}"
    if post.thread_ts:
        resp = client.conversations_replies(
            channel=post.channel,
            ts=post.thread_ts,
            oldest=oldest,
            include_all_metadata=True,
            limit=200,
        )
    else:
        resp = client.conversations_history(
            channel=post.channel, oldest=oldest, include_all_metadata=True, limit=200
        )
    messages: list[dict[str, Any]] = resp.get("messages", [])
    for message in messages:
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == METADATA_EVENT_TYPE and payload.get("key") == post.dedupe_key:
            return dict(message)
    return None


def _release(db: Database, dedupe_key: str, previous_attempt: datetime | None) -> None:
    with db.session() as session:
        session.execute(
            update(SlackMessage)
            .where(SlackMessage.dedupe_key == dedupe_key, SlackMessage.sent_at.is_(None))
            .values(attempted_at=previous_attempt)
        )


def _mark_sent(db: Database, dedupe_key: str, channel: str, ts: str) -> None:
    with db.session() as session:
        session.execute(
            update(SlackMessage)
            .where(SlackMessage.dedupe_key == dedupe_key)
            .values(channel=channel, ts=ts, sent_at=utcnow())
        )


def deliver(db: Database, client: WebClient, post: Post) -> str:
    """Post once; returns the message ts. Safe to call again after any crash."""
    already = sent_message(db, post.dedupe_key)
    if already is not None and already.ts is not None:
        return already.ts
    # Book the channel slot before taking the lease, so waiting for Slack's pace holds no lease.
    # A slot further off than MAX_WAIT raises PaceLater: the task comes back at its slot.
    slot = _booked_slot(db, post)
    if slot is not None:
        wait_until(slot)
    done, previous_attempt = _claim(db, post)
    if done is not None:
        assert done.ts is not None
        return done.ts
    if previous_attempt is not None:
        found = _find_posted(client, post, previous_attempt)
        if found is not None:
            _mark_sent(db, post.dedupe_key, post.channel, str(found["ts"]))
            return str(found["ts"])
    _wait_for_turn(db, post, previous_attempt)
    kwargs: dict[str, Any] = {
        "channel": post.channel,
        "text": post.text,
        "metadata": {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": post.dedupe_key}},
    }
    if post.blocks is not None:
        kwargs["blocks"] = post.blocks
    if post.thread_ts is not None:
        kwargs["thread_ts"] = post.thread_ts
    try:
        response = client.chat_postMessage(**kwargs)
    except SlackApiError as exc:
        # Slack answered and refused (429, 5xx, ok=false): nothing was posted, so a retry
        # need not wait out the lease. A timeout is ambiguous and keeps the lease.
        _release(db, post.dedupe_key, previous_attempt)
        if exc.response.status_code == 429:
            _rebook(db, post, float(exc.response.headers.get("Retry-After", "1") or 1))
        error = permanent_error(exc)
        if error is not None:
            raise record_failure(db, post, error) from exc
        raise
    ts = str(response["ts"])
    _mark_sent(db, post.dedupe_key, str(response.get("channel") or post.channel), ts)
    return ts


def sent_message(db: Database, dedupe_key: str) -> SlackMessage | None:
    with db.session() as session:
        row = session.scalar(select(SlackMessage).where(SlackMessage.dedupe_key == dedupe_key))
        return row if row is not None and row.sent_at is not None else None


def mark_refreshed(db: Database, dedupe_key: str) -> None:
    """Record that a posted message was redrawn, so the sweeper knows the update landed."""
    with db.session() as session:
        session.execute(
            update(SlackMessage)
            .where(SlackMessage.dedupe_key == dedupe_key)
            .values(refreshed_at=utcnow())
        )


def card_messages(
    db: Database, expense_id: uuid.UUID, step: int
) -> tuple[list[SlackMessage], bool, bool]:
    """The step's posted cards (the card, or its fallback), whether one failed for good, and
    whether one is being posted."""
    with db.session() as session:
        rows = session.scalars(
            select(SlackMessage).where(
                SlackMessage.expense_id == expense_id,
                SlackMessage.kind == "card",
                SlackMessage.step == step,
            )
        ).all()
    sent = [r for r in rows if r.sent_at is not None and r.ts is not None]
    posting = any(r.sent_at is None and r.failed_at is None for r in rows)
    return sent, any(r.failed_at is not None for r in rows), posting
