"""The Celery application, configured from typed settings."""

from collections.abc import Sequence
from typing import Any

from celery import Celery

import app  # noqa: F401  (puts our `slack` package ahead of the SDK's before anything imports it)
from app import job_names
from app.db import Job
from app.settings import Settings, get_settings

TASK_MODULES = ["tasks.evaluation", "tasks.notifications", "tasks.maintenance", "tasks.witness"]
# The witness task runs hourly and posts at most once per UTC day, so a missed beat costs an hour.
WITNESS_CHECK_SECONDS = 3600.0


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    if settings.celery_broker_url.startswith("sqla+"):
        # kombu's SQLAlchemy transport passes these to create_engine.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
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
        beat_schedule={
            "sweep-stuck": {
                "task": job_names.SWEEP_STUCK,
                "schedule": settings.sweep_interval_seconds,
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
        celery_app.send_task(job.task, args=list(job.args))
