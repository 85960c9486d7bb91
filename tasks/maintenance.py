"""The sweeper task: re-queues work whose job was lost between a commit and the broker."""

from datetime import timedelta

from app import job_names
from app.db import Job, enqueue_after_commit
from app.metrics import RECOVERIES
from app.services.decision_requests import unapplied
from app.services.recovery import (
    BATCH,
    NOTICE_WINDOW,
    lost_jobs,
    lost_timer_jobs,
    purge_replay_receipts,
)
from models.base import utcnow
from tasks.celery_app import celery_app
from tasks.runtime import runtime

RECEIPT_RETENTION = timedelta(minutes=10)
CLICK_GRACE = timedelta(seconds=15)


@celery_app.task(name=job_names.SWEEP_STUCK)  # type: ignore[untyped-decorator]
def sweep_stuck() -> int:
    rt = runtime()
    now = utcnow()
    stuck_before = now - timedelta(seconds=rt.settings.stuck_after_seconds)
    with rt.db.session() as session:
        jobs = lost_jobs(session, stuck_before=stuck_before)
        jobs += lost_timer_jobs(
            session, stuck_before=stuck_before, since=stuck_before - NOTICE_WINDOW
        )
        # An acked decision is applied within a second; one still waiting lost its process.
        jobs += [
            Job(job_names.APPLY_DECISION_REQUEST, (signature,))
            for signature in unapplied(session, received_before=now - CLICK_GRACE, limit=BATCH)
        ]
        # Queued like any other job: they leave only once this transaction commits.
        for job in jobs:
            enqueue_after_commit(session, job.task, *job.args)
            RECOVERIES.labels(job.task.rsplit(".", 1)[-1]).inc()
        purge_replay_receipts(session, before=now - RECEIPT_RETENTION)
    return len(jobs)
