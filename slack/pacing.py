"""Per-channel pacing shared by all workers: about one message a second per channel."""

import time
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from app.db import Database
from models import SlackChannelPace
from models.base import utcnow

INTERVAL = timedelta(seconds=1)
# Past this, a worker thread should not sleep: the task is retried at its slot instead, which
# costs one run at most, since a post keeps the slot it booked. Sleeping threads starve the queue.
MAX_WAIT = timedelta(seconds=3)


class PaceLater(Exception):
    """The channel is booked further ahead than a worker should wait."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"channel busy for {retry_in:.1f}s")
        self.retry_in = retry_in


def reserve_slot(db: Database, channel: str) -> datetime:
    """Book the channel's next free slot, however far ahead it is, and return it."""
    for _attempt in range(2):
        try:
            with db.session() as session:
                # FOR UPDATE serialises workers on PostgreSQL; SQLite serialises writers anyway.
                row = session.get(SlackChannelPace, channel, with_for_update=True)
                now = utcnow()
                if row is None:
                    row = SlackChannelPace(channel=channel, next_slot_at=now)
                    session.add(row)
                slot = max(now, row.next_slot_at)
                row.next_slot_at = slot + INTERVAL
                return slot
        except IntegrityError:
            continue  # another worker created the row first; read it again
    raise PaceLater(INTERVAL.total_seconds())


def hold_channel(db: Database, channel: str, seconds: float) -> None:
    """Slack said 429 for this channel: nobody posts to it again before `seconds` from now."""
    resume = utcnow() + timedelta(seconds=seconds)
    try:
        with db.session() as session:
            row = session.get(SlackChannelPace, channel, with_for_update=True)
            if row is None:
                row = SlackChannelPace(channel=channel, next_slot_at=resume)
                session.add(row)
            row.next_slot_at = max(row.next_slot_at, resume)
            # Posts already booked inside the pause wait for it too (see take_turn).
            if row.last_post_at is None or row.last_post_at < resume - INTERVAL:
                row.last_post_at = resume - INTERVAL
    except IntegrityError:  # another worker created the row first, for the same 429 wave
        return


def take_turn(db: Database, channel: str) -> float:
    """Claim the channel for a post starting now: 0.0 if it is ours, else seconds to wait.

    Slots put the posts in order; this keeps them apart. A task back late from a retry, or a
    worker slow to wake, finds its slot long past: posting at once would land on top of the post
    holding the current slot. So no two posts to a channel start within INTERVAL of each other.
    """
    try:
        with db.session() as session:
            row = session.get(SlackChannelPace, channel, with_for_update=True)
            now = utcnow()
            if row is None:
                session.add(SlackChannelPace(channel=channel, next_slot_at=now, last_post_at=now))
                return 0.0
            if row.last_post_at is not None and now < row.last_post_at + INTERVAL:
                return (row.last_post_at + INTERVAL - now).total_seconds()
            row.last_post_at = now
            return 0.0
    except IntegrityError:  # another worker created the row first: it is posting now
        return INTERVAL.total_seconds()


def wait_until(slot: datetime) -> None:
    """Sleep until a booked slot, or ask for a retry when it is further off than MAX_WAIT."""
    wait = (slot - utcnow()).total_seconds()
    if wait > MAX_WAIT.total_seconds():
        raise PaceLater(wait)
    time.sleep(max(0.0, wait))
