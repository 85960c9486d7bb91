"""Applies a decision recorded on Slack's ack path whose API process died before applying it."""

from sqlalchemy.exc import OperationalError

from app.job_names import APPLY_DECISION_REQUEST
from slack.listeners.common import apply_and_answer
from tasks.celery_app import celery_app
from tasks.runtime import runtime


@celery_app.task(  # type: ignore[untyped-decorator]
    name=APPLY_DECISION_REQUEST,
    # A database outage: back off and try again, as evaluation does; the sweeper is the backstop.
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=8,
)
def apply_decision_request(signature: str) -> None:
    rt = runtime()
    # Exactly once: the receipt is locked and marked in the decision's own transaction.
    apply_and_answer(rt.db, rt.slack, signature)
