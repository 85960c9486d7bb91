"""The sweeper: re-queues work whose job was lost between a commit and the broker."""

from datetime import timedelta

from sqlalchemy import delete, select

from app import job_names
from app.db import Job
from app.domain.workflow import Status
from models import Expense, SlackMessage, SlackRequestReceipt
from models.base import utcnow
from tasks.celery_app import celery_app, send_jobs
from tasks.notifications import card_key
from tasks.runtime import runtime

BATCH = 200
RECEIPT_RETENTION = timedelta(minutes=10)


@celery_app.task(name=job_names.SWEEP_STUCK)  # type: ignore[untyped-decorator]
def sweep_stuck() -> int:
    """Every task is idempotent, so re-queuing one that is merely slow does no harm."""
    rt = runtime()
    cutoff = utcnow() - timedelta(seconds=rt.settings.stuck_after_seconds)
    jobs: list[Job] = []
    with rt.db.session() as session:
        submitted = session.scalars(
            select(Expense.id)
            .where(Expense.status == Status.SUBMITTED.value, Expense.updated_at < cutoff)
            .limit(BATCH)
        ).all()
        jobs += [Job(job_names.EVALUATE_EXPENSE, (str(eid),)) for eid in submitted]
        pending = session.execute(
            select(Expense.id, Expense.current_step)
            .where(Expense.status == Status.PENDING_APPROVAL.value, Expense.updated_at < cutoff)
            .limit(BATCH)
        ).all()
        posted = set(
            session.scalars(
                select(SlackMessage.dedupe_key).where(
                    SlackMessage.kind == "card",
                    SlackMessage.sent_at.is_not(None),
                    SlackMessage.expense_id.in_([eid for eid, _ in pending]),
                )
            ).all()
        )
        jobs += [
            Job(job_names.POST_APPROVAL_CARD, (str(eid), step))
            for eid, step in pending
            if card_key(eid, step) not in posted
        ]
        # Slack rejects requests older than 5 minutes, so older replay receipts can go.
        session.execute(
            delete(SlackRequestReceipt).where(
                SlackRequestReceipt.received_at < utcnow() - RECEIPT_RETENTION
            )
        )
    send_jobs(jobs)
    return len(jobs)
