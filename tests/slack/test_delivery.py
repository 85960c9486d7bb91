"""Exactly-once posting against the strict sandbox: crash recovery and the lease."""

import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from app.db import Database
from bench.standins.server import ServerThread
from models import SlackMessage
from models.base import utcnow
from slack.delivery import DeliveryBusy, Post, deliver
from slack.ids import METADATA_EVENT_TYPE
from slack.pacing import MAX_WAIT, PaceLater, hold_channel, reserve_slot
from tests.factories import new_expense, person
from tests.slack.conftest import TOKEN, posts_with_key


def make_post(db: Database, channel: str = "C0APPROVALS") -> Post:
    from app.services import expenses

    with db.session() as session:
        expense, _ = expenses.submit(session, person(db), new_expense(), None)
    return Post(
        dedupe_key=f"card:{expense.id}:0",
        expense_id=expense.id,
        kind="card",
        channel=channel,
        text="Expense approval needed",
    )


def leave_attempt(db: Database, post: Post, attempted_at: datetime) -> None:
    """The outbox row a worker leaves when it took the lease and then vanished."""
    with db.session() as session:
        session.add(
            SlackMessage(
                dedupe_key=post.dedupe_key,
                expense_id=post.expense_id,
                kind="card",
                channel=post.channel,
                attempted_at=attempted_at,
            )
        )


def test_delivery_posts_once_and_repeats_are_free(db: Database, sandbox: ServerThread) -> None:
    client = WebClient(token=TOKEN, base_url=f"{sandbox.url}/api/")
    post = make_post(db)
    first = deliver(db, client, post)
    assert deliver(db, client, post) == first
    assert len(posts_with_key(sandbox, post.dedupe_key)) == 1


def test_a_post_made_before_a_crash_is_adopted_not_repeated(
    db: Database, sandbox: ServerThread
) -> None:
    client = WebClient(token=TOKEN, base_url=f"{sandbox.url}/api/")
    post = make_post(db)
    # The dead worker had claimed the message and Slack accepted the post; the ts was never stored.
    leave_attempt(db, post, utcnow() - timedelta(minutes=2))
    posted = client.chat_postMessage(
        channel=post.channel,
        text=post.text,
        metadata={"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": post.dedupe_key}},
    )
    assert deliver(db, client, post) == posted["ts"]
    assert len(posts_with_key(sandbox, post.dedupe_key)) == 1


def test_a_live_lease_makes_others_wait(db: Database, sandbox: ServerThread) -> None:
    client = WebClient(token=TOKEN, base_url=f"{sandbox.url}/api/")
    post = make_post(db)
    leave_attempt(db, post, utcnow())
    with pytest.raises(DeliveryBusy):
        deliver(db, client, post)
    assert posts_with_key(sandbox, post.dedupe_key) == []


def test_sandbox_rejects_bad_tokens_and_oversize_blocks(sandbox: ServerThread) -> None:
    bad = httpx.post(
        f"{sandbox.url}/api/chat.postMessage",
        json={"channel": "C1", "text": "x"},
        headers={"Authorization": "Bearer xoxb-wrong"},
    ).json()
    assert bad == {"ok": False, "error": "invalid_auth"}
    missing = httpx.post(f"{sandbox.url}/api/chat.postMessage", json={"channel": "C1"}).json()
    assert missing["error"] == "not_authed"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    big = httpx.post(
        f"{sandbox.url}/api/chat.postMessage",
        json={"channel": "C1", "text": "x", "blocks": blocks},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    assert big["error"] == "invalid_blocks"


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_a_refused_post_releases_the_lease_for_an_early_retry(
    db: Database, sandbox: ServerThread
) -> None:
    client = WebClient(token=TOKEN, base_url=f"{sandbox.url}/api/")  # no retry handlers
    post = make_post(db)
    httpx.post(
        f"{sandbox.url}/_control/fail",
        json={"method": "chat.postMessage", "status": 503, "times": 1},
    ).raise_for_status()
    with pytest.raises(SlackApiError):
        deliver(db, client, post)
    assert posts_with_key(sandbox, post.dedupe_key) == []
    ts = deliver(db, client, post)  # at once: no DeliveryBusy, no waiting out the lease
    assert [m["ts"] for m in posts_with_key(sandbox, post.dedupe_key)] == [ts]


def test_a_post_keeps_the_slot_it_booked_while_it_waits(
    db: Database, sandbox: ServerThread
) -> None:
    client = WebClient(token=TOKEN, base_url=f"{sandbox.url}/api/")
    channel = "C" + uuid.uuid4().hex[:10]
    for _ in range(int(MAX_WAIT.total_seconds()) + 2):
        reserve_slot(db, channel)  # a burst of other cards got there first
    post = make_post(db, channel)
    with pytest.raises(PaceLater) as first:
        deliver(db, client, post)
    with pytest.raises(PaceLater) as again:
        deliver(db, client, post)
    # The retry waits for the same slot, it does not queue up behind later cards.
    assert again.value.retry_in == pytest.approx(first.value.retry_in, abs=0.5)
    with db.session() as session:
        row = session.scalar(select(SlackMessage).where(SlackMessage.dedupe_key == post.dedupe_key))
        assert row is not None
        assert row.slot_at is not None
        assert row.attempted_at is None  # waiting holds no lease
    assert posts_with_key(sandbox, post.dedupe_key) == []


def test_a_429_pauses_the_channel_and_the_retry_books_a_fresh_slot(
    db: Database, sandbox: ServerThread
) -> None:
    client = WebClient(token=TOKEN, base_url=f"{sandbox.url}/api/")  # no retry handlers
    channel = "C" + uuid.uuid4().hex[:10]
    post = make_post(db, channel)
    httpx.post(
        f"{sandbox.url}/_control/fail",
        json={"method": "chat.postMessage", "status": 429, "retry_after": 5, "times": 1},
    ).raise_for_status()
    refused_at = utcnow()
    with pytest.raises(SlackApiError):
        deliver(db, client, post)
    # Nobody posts to the channel during Slack's pause, and the refused post's old slot (now in
    # the past, likely someone else's moment by its retry) is given up.
    assert reserve_slot(db, channel) >= refused_at + timedelta(seconds=5)
    with db.session() as session:
        row = session.scalar(select(SlackMessage).where(SlackMessage.dedupe_key == post.dedupe_key))
        assert row is not None
        assert row.slot_at is None
    with pytest.raises(PaceLater):  # its fresh slot is behind the one just booked
        deliver(db, client, post)
    with db.session() as session:
        rebooked = session.scalar(
            select(SlackMessage.slot_at).where(SlackMessage.dedupe_key == post.dedupe_key)
        )
    assert rebooked is not None
    assert rebooked >= refused_at + timedelta(seconds=6)
    assert posts_with_key(sandbox, post.dedupe_key) == []


def test_the_sandbox_can_keep_slacks_own_limit_per_channel(sandbox: ServerThread) -> None:
    client = WebClient(token=TOKEN, base_url=f"{sandbox.url}/api/")  # no retry handlers
    busy, quiet = "C" + uuid.uuid4().hex[:10], "C" + uuid.uuid4().hex[:10]
    httpx.post(f"{sandbox.url}/_control/channel_limit", json={"burst": 2}).raise_for_status()
    try:
        for _ in range(2):
            client.chat_postMessage(channel=busy, text="within the burst")
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel=busy, text="one too many")
        assert refused.value.response.status_code == 429
        assert int(refused.value.response.headers["Retry-After"]) >= 1
        client.chat_postMessage(channel=quiet, text="another channel is not held")
    finally:
        httpx.post(f"{sandbox.url}/_control/channel_limit", json={"burst": None})


def test_a_post_back_late_for_its_slot_still_waits_for_the_channels_turn(
    db: Database, sandbox: ServerThread
) -> None:
    client = WebClient(token=TOKEN, base_url=f"{sandbox.url}/api/")
    channel = "C" + uuid.uuid4().hex[:10]
    post = make_post(db, channel)
    with db.session() as session:  # booked long ago; its task comes back only now
        session.add(
            SlackMessage(
                dedupe_key=post.dedupe_key,
                expense_id=post.expense_id,
                kind="card",
                channel=channel,
                slot_at=utcnow() - timedelta(seconds=30),
            )
        )
    hold_channel(db, channel, 10)  # meanwhile Slack asked for a pause
    with pytest.raises(PaceLater) as later:
        deliver(db, client, post)
    assert later.value.retry_in == pytest.approx(10, abs=1)
    assert posts_with_key(sandbox, post.dedupe_key) == []
    with db.session() as session:
        row = session.scalar(select(SlackMessage).where(SlackMessage.dedupe_key == post.dedupe_key))
        assert row is not None
        assert row.attempted_at is None  # waiting for its turn holds no lease
