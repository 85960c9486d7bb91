"""The daily audit witness task: posts the audit log's head hash to the policy's witness channel."""

from celery import Task

from app import job_names
from app.policy_loader import load_policy
from models.base import utcnow
from slack.witness import post_witness
from tasks.celery_app import celery_app
from tasks.notifications import SLACK_TASK
from tasks.retry import retry_or_raise
from tasks.runtime import runtime


@celery_app.task(name=job_names.POST_AUDIT_WITNESS, **SLACK_TASK)  # type: ignore[untyped-decorator]
def post_audit_witness(self: Task) -> str:
    rt = runtime()
    channel = load_policy(rt.settings.policy_file).audit_witness_channel
    if channel is None:
        return "disabled"
    try:
        return post_witness(rt.db, rt.slack, channel, utcnow()) or "empty log"
    except Exception as exc:
        retry_or_raise(self, exc)
