"""The tick task's moment: an ISO 8601 time (UTC unless it says otherwise), or the real now."""

from datetime import UTC, datetime, timedelta, timezone

from tasks.timers import parse_moment


def test_a_tick_reads_its_moment() -> None:
    assert parse_moment("2026-12-24T09:00:00Z") == datetime(2026, 12, 24, 9, tzinfo=UTC)
    assert parse_moment("2026-12-24T09:00:00") == datetime(2026, 12, 24, 9, tzinfo=UTC)
    berlin_winter = timezone(timedelta(hours=1))
    assert parse_moment("2026-12-24T10:00:00+01:00") == datetime(
        2026, 12, 24, 10, tzinfo=berlin_winter
    )
    before = datetime.now(UTC)
    assert before <= parse_moment(None) <= datetime.now(UTC)
