"""Evaluates a submitted expense: hard rules, then the LLM reviewer, then the gate."""

import contextvars
import uuid
from dataclasses import replace

from sqlalchemy.exc import OperationalError

from app.domain.gate import Route, route_expense
from app.domain.receipt_check import ReceiptReading, ReceiptUnread
from app.domain.receipt_files import ReceiptType
from app.domain.rules import evaluate_rules
from app.domain.workflow import Status
from app.job_names import EVALUATE_EXPENSE, EVALUATE_EXPENSES
from app.llm.reviewer import review_input
from app.logs import bind
from app.metrics import DECISIONS
from app.policy_loader import load_policy
from app.services import audit
from app.services.evaluation import facts_of, record_gate_decision
from app.services.history import history_of
from models import Expense
from tasks.celery_app import celery_app
from tasks.runtime import Runtime, runtime


def read_uploaded_receipt(
    rt: Runtime, sha256: str, content_type: str
) -> ReceiptReading | ReceiptUnread:
    data = rt.receipts.read(sha256)
    if data is None:
        return ReceiptUnread("the stored receipt file is missing")
    return rt.reviewer.read_receipt(data, ReceiptType(content_type))


@celery_app.task(  # type: ignore[untyped-decorator]
    name=EVALUATE_EXPENSE,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=8,
)
def evaluate_expense(expense_id: str) -> str:
    return _evaluate(expense_id)


@celery_app.task(  # type: ignore[untyped-decorator]
    name=EVALUATE_EXPENSES,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=8,
)
def evaluate_expenses(expense_ids: list[str]) -> list[str]:
    """A batch from the API's job relay: each expense evaluated as if it came alone, side by
    side on the worker's evaluation threads, so a batch waits for its slowest LLM call rather
    than for all of them in turn.

    A database error on one does not stop the others; the batch is then retried whole, and
    the expenses already evaluated are skipped.
    """
    pool = runtime().evaluations
    # Each in a copy of this task's logging context, with its own expense id bound.
    futures = [pool.submit(contextvars.copy_context().run, _evaluate_one, i) for i in expense_ids]
    outcomes: list[str] = []
    failure: OperationalError | None = None
    for future in futures:
        try:
            outcomes.append(future.result())
        except OperationalError as exc:
            failure = exc
    if failure is not None:
        raise failure
    return outcomes


def _evaluate_one(expense_id: str) -> str:
    bind(expense_id=expense_id)
    return _evaluate(expense_id)


def _evaluate(expense_id: str) -> str:
    rt = runtime()
    eid = uuid.UUID(expense_id)
    policy = load_policy(rt.settings.policy_file)
    with rt.db.session() as session:
        expense = session.get(Expense, eid)
        if expense is None or expense.status != Status.SUBMITTED.value:
            return "skipped"
        facts = facts_of(expense, policy, history_of(session, expense, policy))
        review = review_input(
            facts, expense.merchant, expense.description, expense.incurred_on.isoformat()
        )
        uploaded = expense.receipt_sha256, expense.receipt_content_type
    if uploaded[0] and uploaded[1]:
        # Read outside the transaction too; its figures become the receipt_matches rule.
        reading = read_uploaded_receipt(rt, uploaded[0], uploaded[1])
        facts = replace(facts, receipt_reading=reading)
    # The LLM call holds no transaction open: it can take seconds. It fails into "no advice",
    # never into a task retry, so the SDK's retries are the only ones around it.
    advice = rt.reviewer.review(review, policy, evaluate_rules(policy, facts))
    decision = route_expense(policy, facts, advice)
    with rt.db.session() as session:
        applied = record_gate_decision(session, eid, decision, advice, policy)
        # Nothing follows: the statement that chains the audit events may carry the commit,
        # so the chain head is never locked across a round trip to this busy process.
        audit.commit_with_chain(session)
    if not applied:
        return "skipped"
    outcome = {Route.AUTO_APPROVE: "approved", Route.AUTO_REJECT: "rejected"}
    DECISIONS.labels("auto", outcome.get(decision.route, "routed_to_human")).inc()
    if decision.would_be is not None:
        DECISIONS.labels("shadow", outcome.get(decision.would_be, "routed_to_human")).inc()
    return decision.route.value
