"""The daily audit witness: one post a day through the outbox, carrying an anchor that verifies."""

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient

from app.db import Database
from app.domain.audit_chain import parse_anchor
from app.services.audit_verify import verify
from app.settings import DEFAULT_POLICY_FILE, get_settings
from bench.standins.server import ServerThread
from slack.witness import post_witness, witness_key
from tasks.runtime import runtime
from tests.audit_rows import write_events
from tests.slack.conftest import TOKEN, posts_with_key

ANCHOR = re.compile(r"`(\d+:[0-9a-f]{64})`")


def anchor_in(post: dict[str, object]) -> str:
    found = ANCHOR.search(str(post["text"]))
    assert found, post["text"]
    return found.group(1)


def test_the_head_is_posted_once_a_day_and_its_anchor_verifies(
    own_postgres_url: str, sandbox: ServerThread
) -> None:
    db = Database(own_postgres_url, job_sender=lambda _jobs: None)
    client = WebClient(token=TOKEN, base_url=f"{sandbox.url}/api/")
    day = datetime(2031, 3, 4, 0, 5, tzinfo=UTC)
    assert post_witness(db, client, "C0AUDIT", day) is None  # nothing to witness yet
    write_events(own_postgres_url, 3)
    first = post_witness(db, client, "C0AUDIT", day)
    write_events(own_postgres_url, 2)
    assert post_witness(db, client, "C0AUDIT", day + timedelta(hours=5)) == first
    next_day = post_witness(db, client, "C0AUDIT", day + timedelta(days=1))
    assert next_day != first
    [monday] = posts_with_key(sandbox, witness_key(day.date()))
    [tuesday] = posts_with_key(sandbox, witness_key((day + timedelta(days=1)).date()))
    anchors = dict(parse_anchor(anchor_in(post)) for post in (monday, tuesday))
    assert len(anchors) == 2
    verdict = verify(db.engine, anchors=anchors)
    db.dispose()
    assert verdict.problem is None
    assert verdict.anchors_checked == 2
    assert verdict.last is not None
    assert f"{verdict.last.id}:{verdict.last.hash}" == anchor_in(tuesday)


@pytest.fixture
def worker_env(
    monkeypatch: pytest.MonkeyPatch, own_postgres_url: str, sandbox: ServerThread, tmp_path: Path
) -> Iterator[Path]:
    """Settings for the task's runtime; yields the policy file the task reads."""
    monkeypatch.chdir(tmp_path)
    policy = tmp_path / "policy.toml"
    policy.write_text(DEFAULT_POLICY_FILE.read_text())
    for name, value in {
        "APP_ENV": "development",
        "DATABASE_URL": own_postgres_url,
        "SLACK_API_URL": f"{sandbox.url}/api/",
        "SLACK_BOT_TOKEN": TOKEN,
        "POLICY_FILE": str(policy),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runtime.cache_clear()
    yield policy
    runtime().db.dispose()
    get_settings.cache_clear()
    runtime.cache_clear()


def test_the_task_posts_only_when_the_policy_names_a_channel(
    worker_env: Path, own_postgres_url: str, sandbox: ServerThread
) -> None:
    from tasks.witness import post_audit_witness

    write_events(own_postgres_url, 1)
    assert post_audit_witness.apply().get() == "disabled"
    worker_env.write_text('audit_witness_channel = "C0WITNESS"\n' + worker_env.read_text())
    later = worker_env.stat().st_mtime + 5  # the policy loader re-reads a file whose mtime moved
    os.utime(worker_env, (later, later))
    ts = post_audit_witness.apply().get()
    assert post_audit_witness.apply().get() == ts
    [post] = posts_with_key(sandbox, witness_key(datetime.now(UTC).date()))
    assert (post["ts"], post["channel"]) == (ts, "C0WITNESS")
