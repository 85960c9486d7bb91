"""The worker's scrape-time gauges, read from a real Redis queue and the real outbox table."""

import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.db import Database
from app.services.employees import add_employee
from app.services.expenses import NewExpense, submit
from app.settings import Settings
from models import SlackMessage
from tasks.backlog_metrics import BacklogCollector
from tasks.celery_app import ENQUEUED_AT, make_celery


def gauges(collector: BacklogCollector) -> dict[tuple[str, tuple[str, ...]], float]:
    return {
        (family.name, tuple(sample.labels.values())): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


def test_queue_depth_oldest_wait_and_outbox_backlog(db: Database, redis_url: str) -> None:
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    celery = make_celery(
        Settings(
            _env_file=None, app_env="development", celery_broker_url=redis_url, celery_queue=queue
        )
    )
    sent_at = time.time() - 30
    for _ in range(3):
        celery.send_task("tasks.nothing", args=[], headers={ENQUEUED_AT: sent_at})
    tag = uuid.uuid4().hex[:8]
    with db.session() as session:
        alice = add_employee(session, email=f"{tag}@m.example", name="A")
        expense, _ = submit(
            session,
            alice,
            NewExpense(Decimal("5"), "USD", "travel", "M", "d", datetime.now(UTC).date()),
            None,
        )
        session.add(SlackMessage(dedupe_key=f"dm:{tag}", expense_id=expense.id, kind="dm"))
    try:
        seen = gauges(BacklogCollector(db, celery, queue))
    finally:
        with celery.connection_for_write() as conn:
            conn.default_channel.client.delete(queue)
    assert seen[("expense_bot_queue_depth", (queue,))] == 3
    assert 29 <= seen[("expense_bot_queue_oldest_message_age_seconds", (queue,))] < 120
    assert seen[("expense_bot_slack_outbox_backlog", ("dm",))] >= 1


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_an_unreachable_broker_does_not_fail_the_scrape(db: Database) -> None:
    celery = make_celery(
        Settings(
            _env_file=None,
            app_env="development",
            celery_broker_url="redis://127.0.0.1:1/0",
            celery_queue="nowhere",
        )
    )
    started = time.monotonic()
    seen = gauges(BacklogCollector(db, celery, "nowhere"))
    assert not any(name == "expense_bot_queue_depth" for name, _ in seen)
    assert time.monotonic() - started < 5, "a scrape answers inside Prometheus' timeout"


def test_rabbitmq_reports_its_depth(db: Database, rabbitmq_url: str) -> None:
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    celery = make_celery(
        Settings(
            _env_file=None,
            app_env="development",
            celery_broker_url=rabbitmq_url,
            celery_queue=queue,
        )
    )
    for _ in range(2):
        celery.send_task("tasks.nothing", args=[], headers={ENQUEUED_AT: time.time()})
    try:
        seen = gauges(BacklogCollector(db, celery, queue))
    finally:
        with celery.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
            conn.default_channel.exchange_delete(queue)
    assert seen[("expense_bot_queue_depth", (queue,))] == 2
    # RabbitMQ does not say how long a message has waited.
    assert ("expense_bot_queue_oldest_message_age_seconds", (queue,)) not in seen
