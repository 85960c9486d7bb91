"""Gauges read when Prometheus scrapes the worker: queue depth, oldest wait, outbox backlog."""

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.db import Database
from app.metrics import OUTBOX_BACKLOG, QUEUE_DEPTH, QUEUE_OLDEST_AGE
from models import SlackMessage

log = logging.getLogger(__name__)
# kombu's Redis transport keeps one list per priority step; the plain name is priority 0.
BROKER_TIMEOUT = 2.0
REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def _redis_queue(client: Any, queue: str, now: float) -> tuple[int, float | None]:
    depth, oldest = 0, None
    for suffix in REDIS_PRIORITY_SUFFIXES:
        key = queue + suffix
        depth += int(client.llen(key))
        raw = client.lindex(key, -1)  # LPUSH in, BRPOP out: the right end waited longest
        if raw is None:
            continue
        sent = json.loads(raw).get("headers", {}).get("enqueued_at")
        if isinstance(sent, int | float):
            age = max(0.0, now - float(sent))
            oldest = age if oldest is None else max(oldest, age)
    return depth, oldest


class BacklogCollector(Collector):
    def __init__(self, db: Database, celery: Any, queue: str) -> None:
        self.db = db
        self.celery = celery
        self.queue = queue

    def _queue(self) -> tuple[int | None, float | None]:
        with self.celery.connection_for_read(connect_timeout=BROKER_TIMEOUT) as conn:
            # Fail fast: a scrape must answer well inside Prometheus' timeout.
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
            channel = conn.default_channel
            client = getattr(channel, "client", None)
            if conn.transport.driver_type == "redis" and client is not None:
                return _redis_queue(client, self.queue, time.time())
            # AMQP and others: the broker counts, but does not tell a message's age.
            _name, count, _consumers = channel.queue_declare(self.queue, passive=True)
            return int(count), None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth_family = GaugeMetricFamily(QUEUE_DEPTH, "Messages waiting", labels=["queue"])
        age_family = GaugeMetricFamily(
            QUEUE_OLDEST_AGE, "How long the oldest waiting message has waited", labels=["queue"]
        )
        try:
            depth, oldest = self._queue()
            if depth is not None:
                depth_family.add_metric([self.queue], depth)
            if oldest is not None:
                age_family.add_metric([self.queue], oldest)
        except Exception:  # noqa: BLE001  (a scrape must not fail because the broker did)
            log.warning("queue metrics unavailable", exc_info=True)
        yield depth_family
        yield age_family
        backlog = GaugeMetricFamily(OUTBOX_BACKLOG, "Slack messages not yet sent", labels=["kind"])
        try:
            with self.db.session() as session:
                rows = session.execute(
                    select(SlackMessage.kind, func.count())
                    .where(SlackMessage.sent_at.is_(None))
                    .group_by(SlackMessage.kind)
                ).all()
            for kind, count in rows:
                backlog.add_metric([kind], count)
        except Exception:  # noqa: BLE001
            log.warning("outbox metrics unavailable", exc_info=True)
        yield backlog
