"""Channel pacing on PostgreSQL: slots a second apart across callers, and no long sleeps."""

import uuid

import pytest

from app.db import Database
from slack.pacing import MAX_WAIT, PaceLater, reserve_slot


def test_slots_are_a_second_apart_per_channel(db: Database) -> None:
    channel = "C" + uuid.uuid4().hex[:10]
    waits = [reserve_slot(db, channel) for _ in range(4)]
    assert waits[0] == pytest.approx(0, abs=0.05)
    for earlier, later in zip(waits, waits[1:], strict=False):
        assert later - earlier == pytest.approx(1.0, abs=0.2)
    other = reserve_slot(db, "C" + uuid.uuid4().hex[:10])
    assert other == pytest.approx(0, abs=0.05)


def test_a_channel_booked_far_ahead_asks_for_a_retry(db: Database) -> None:
    channel = "C" + uuid.uuid4().hex[:10]
    for _ in range(int(MAX_WAIT.total_seconds()) + 1):
        reserve_slot(db, channel)
    with pytest.raises(PaceLater) as later:
        reserve_slot(db, channel)
    assert later.value.retry_in > MAX_WAIT.total_seconds()
