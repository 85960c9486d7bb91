"""Slack side effects of the conversation: the question DM to the submitter, and Home tabs."""

from celery import Task

from app import job_names
from app.domain.money import in_minor_units
from models import Comment, Employee, Expense
from slack.blocks import question_notice
from slack.delivery import Post, deliver
from slack.home import publish_home as publish
from tasks.celery_app import celery_app
from tasks.notifications import SLACK_TASK, dm_channel
from tasks.retry import retry_or_raise
from tasks.runtime import runtime


@celery_app.task(name=job_names.ASK_SUBMITTER, **SLACK_TASK)  # type: ignore[untyped-decorator]
def ask_submitter(self: Task, comment_id: int) -> str:
    """DM the question; the submitter's reply in its thread is their answer."""
    rt = runtime()
    try:
        with rt.db.session() as session:
            note = session.get(Comment, comment_id)
            expense = session.get(Expense, note.expense_id) if note else None
            if note is None or expense is None:
                return "skipped"
            submitter = session.get(Employee, expense.submitter_id)
            if submitter is None or not submitter.slack_user_id:
                return "no slack id"
            text = question_notice(
                asker_slack_id=note.slack_user_id,
                amount=in_minor_units(expense.amount, expense.currency),
                currency=expense.currency,
                merchant=expense.merchant,
                question=note.text,
            )
            slack_user, expense_id = submitter.slack_user_id, expense.id
        post = Post(
            dedupe_key=f"question:{comment_id}",
            expense_id=expense_id,
            kind="question",
            channel=dm_channel(slack_user),
            text=text,
        )
        return deliver(rt.db, rt.slack, post)
    except Exception as exc:
        retry_or_raise(self, exc)


@celery_app.task(name=job_names.PUBLISH_HOME, **SLACK_TASK)  # type: ignore[untyped-decorator]
def publish_home(self: Task, slack_user_id: str) -> str:
    rt = runtime()
    try:
        publish(rt.db, rt.slack, slack_user_id)
        return "published"
    except Exception as exc:
        retry_or_raise(self, exc)
