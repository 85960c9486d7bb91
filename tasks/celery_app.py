"""The Celery application, configured from typed settings."""

import time
from collections.abc import Sequence
from typing import Any

from celery import Celery

import app  # noqa: F401  (puts our `slack` package ahead of the SDK's before anything imports it)
import tasks.log_context  # noqa: F401  (connects the worker's logging signals)
import tasks.metrics_server  # noqa: F401  (serves the worker's metrics when it starts)
from app import job_names
from app.db import Job
from app.settings import Settings, get_settings

ENQUEUED_AT = "enqueued_at"
TASK_MODULES = [
    "tasks.evaluation",
    "tasks.notifications",
    "tasks.maintenance",
    "tasks.decision_requests",
    "tasks.witness",
    "tasks.timers",
    "tasks.conversation",
    "tasks.receipts",
]
# The witness task runs hourly and posts at most once per UTC day, so a missed beat costs an hour.
WITNESS_CHECK_SECONDS = 3600.0


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    url = settings.celery_broker_url
    if url.startswith("sqla+"):
        # kombu's SQLAlchemy transport passes these to create_engine.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    if url.startswith(("amqp", "pyamqp")):
        # Publisher confirms: a job RabbitMQ did not take raises, is logged, and the sweeper
        # re-queues it, instead of vanishing silently. A dead worker's messages come back at once.
        return {"confirm_publish": True}
    return {"visibility_timeout": settings.broker_visibility_timeout_seconds}


def make_celery(settings: Settings) -> Celery:
    celery = Celery("expense_bot", broker=settings.celery_broker_url, include=TASK_MODULES)
    celery.conf.update(
        task_default_queue=settings.celery_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        # Hard limit stays well inside the visibility timeout, so a slow task is not redelivered.
        task_time_limit=settings.task_time_limit_seconds,
        broker_transport_options=broker_transport_options(settings),
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # Nothing here uses `celery inspect/control`. On Redis, its pub/sub channel is what turned
        # a broker restart into a worker crash (tests/e2e/test_broker_faults.py explains).
        worker_enable_remote_control=False,
        beat_schedule={
            "sweep-stuck": {
                "task": job_names.SWEEP_STUCK,
                "schedule": settings.sweep_interval_seconds,
            },
            "timers-tick": {
                "task": job_names.TIMERS_TICK,
                "schedule": settings.timers_tick_seconds,
            },
            "audit-witness": {
                "task": job_names.POST_AUDIT_WITNESS,
                "schedule": WITNESS_CHECK_SECONDS,
            },
        },
        timezone="UTC",
        enable_utc=True,
    )
    return celery


celery_app = make_celery(get_settings())


def send_jobs(jobs: Sequence[Job]) -> None:
    for job in jobs:
        # The send time travels with the message, so the queue's oldest wait can be measured.
        celery_app.send_task(job.task, args=list(job.args), headers={ENQUEUED_AT: time.time()})
