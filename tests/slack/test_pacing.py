"""Channel pacing on PostgreSQL: slots a second apart across callers, and no long sleeps."""

import uuid
from datetime import timedelta

import pytest

from app.db import Database
from models.base import utcnow
from slack.pacing import (
    INTERVAL,
    MAX_WAIT,
    PaceLater,
    hold_channel,
    reserve_slot,
    take_turn,
    wait_until,
)


def test_slots_are_a_second_apart_per_channel(db: Database) -> None:
    channel = "C" + uuid.uuid4().hex[:10]
    before = utcnow()
    slots = [reserve_slot(db, channel) for _ in range(4)]
    assert before <= slots[0] <= utcnow()  # a free channel's first slot is now
    assert [later - earlier for earlier, later in zip(slots, slots[1:], strict=False)] == [
        INTERVAL
    ] * 3
    before = utcnow()
    other = reserve_slot(db, "C" + uuid.uuid4().hex[:10])
    assert before <= other <= utcnow()


def test_a_slot_booked_far_ahead_asks_for_a_retry_at_that_slot(db: Database) -> None:
    channel = "C" + uuid.uuid4().hex[:10]
    for _ in range(int(MAX_WAIT.total_seconds()) + 1):
        reserve_slot(db, channel)
    far = reserve_slot(db, channel)
    with pytest.raises(PaceLater) as later:
        wait_until(far)
    assert later.value.retry_in == pytest.approx((far - utcnow()).total_seconds(), abs=0.1)
    assert later.value.retry_in > MAX_WAIT.total_seconds()


def test_no_two_posts_to_a_channel_start_within_a_second(db: Database) -> None:
    channel = "C" + uuid.uuid4().hex[:10]
    assert take_turn(db, channel) == 0.0
    # A post whose slot is long past (back late from a retry) still waits its turn.
    wait = take_turn(db, channel)
    assert 0.0 < wait <= INTERVAL.total_seconds()
    assert take_turn(db, "C" + uuid.uuid4().hex[:10]) == 0.0  # other channels are not held


def test_a_429_pause_holds_posts_already_booked(db: Database) -> None:
    channel = "C" + uuid.uuid4().hex[:10]
    reserve_slot(db, channel)
    hold_channel(db, channel, 10)
    assert take_turn(db, channel) == pytest.approx(10, abs=1)
    assert reserve_slot(db, channel) >= utcnow() + timedelta(seconds=9)
