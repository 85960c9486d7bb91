"""Checks a receipt uploaded after the gate: the rules run again with it, for the approver."""

import uuid
from dataclasses import replace

from celery import Task
from sqlalchemy.exc import OperationalError

from app.domain.advice import LlmUnavailable
from app.domain.gate import route_expense
from app.domain.workflow import Status
from app.job_names import CHECK_RECEIPT
from app.policy_loader import load_policy
from app.services import receipts
from app.services.evaluation import facts_of
from app.services.history import history_of
from models import Expense
from tasks.celery_app import celery_app
from tasks.evaluation import read_uploaded_receipt
from tasks.runtime import runtime

# Until the gate has decided, the evaluation itself may or may not have seen the receipt.
AWAIT_GATE_SECONDS = 10


@celery_app.task(  # type: ignore[untyped-decorator]
    name=CHECK_RECEIPT,
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=12,
)
def check_receipt(self: Task, expense_id: str, sha256: str) -> str:
    rt = runtime()
    eid = uuid.UUID(expense_id)
    policy = load_policy(rt.settings.policy_file)
    with rt.db.session() as session:
        expense = session.get(Expense, eid)
        if expense is None or not receipts.is_current(expense, sha256):
            return "skipped"
        if expense.status == Status.SUBMITTED.value:
            raise self.retry(countdown=AWAIT_GATE_SECONDS)
        if Status(expense.status) not in receipts.WAITING_FOR_HUMAN:
            return "skipped"
        facts = facts_of(expense, policy, history_of(session, expense, policy))
        content_type = expense.receipt_content_type
        advice = expense.llm_advice or LlmUnavailable("no advice recorded")
    assert content_type is not None  # is_current
    reading = read_uploaded_receipt(rt, sha256, content_type)
    # The gate's reasons as they would read now; the status stays: a human decides anyway.
    decision = route_expense(policy, replace(facts, receipt_reading=reading), advice)
    with rt.db.session() as session:
        changed = receipts.record_check(session, eid, sha256, decision, policy)
    return "changed" if changed else "unchanged"
