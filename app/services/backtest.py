"""Re-running the rules of another policy over stored expenses, with their recorded LLM advice.

Reads only: nothing is written, queued or audited.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.domain.backtest import Recorded, change
from app.domain.gate import route_expense
from app.domain.history import PastExpense, history_for
from app.domain.policy import Policy
from app.services.evaluation import facts_of
from app.services.history import PAST_COLUMNS, as_past, past
from models import Expense

BATCH = 1000


@dataclass(frozen=True, slots=True)
class Replayed:
    expense: Expense
    was: str
    now: str
    # None when the outcome is the same.
    why: str | None


def recorded_route(expense: Expense) -> str | None:
    """The gate's route, or for expenses evaluated before it was kept, what the status shows."""
    if expense.gate_route is not None:
        return expense.gate_route
    if expense.llm_advice is None:
        return None  # never evaluated
    return "human" if expense.steps else "auto_approve"


class Histories:
    """Every stored expense's history fields, indexed by submitter and by receipt."""

    def __init__(self, session: Session) -> None:
        self.by_submitter: dict[int, list[PastExpense]] = defaultdict(list)
        self.by_receipt: dict[str, list[PastExpense]] = defaultdict(list)
        for row in session.execute(select(*PAST_COLUMNS).execution_options(yield_per=BATCH)):
            item = past(row)
            self.by_submitter[item.submitter_id].append(item)
            if item.receipt_sha256:
                self.by_receipt[item.receipt_sha256].append(item)

    def candidates(self, expense: PastExpense) -> list[PastExpense]:
        same_receipt = self.by_receipt.get(expense.receipt_sha256 or "", [])
        mine = self.by_submitter.get(expense.submitter_id, [])
        # One's own claim of the same receipt is in both lists; count it once.
        return list({item.id: item for item in (*mine, *same_receipt)}.values())


def evaluated(since: datetime | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Expense.llm_advice.is_not(None)]
    if since is not None:
        conditions.append(Expense.created_at >= since)
    return conditions


def count(session: Session, since: datetime | None) -> int:
    return int(
        session.scalar(select(func.count()).select_from(Expense).where(*evaluated(since))) or 0
    )


def replay(session: Session, policy: Policy, since: datetime | None) -> Iterator[Replayed]:
    """Each evaluated expense created since `since`, oldest first, under `policy`."""
    histories = Histories(session)
    stmt = (
        select(Expense)
        .where(*evaluated(since))
        .order_by(Expense.created_at, Expense.id)
        .execution_options(yield_per=BATCH)
    )
    for expense in session.scalars(stmt):
        was = recorded_route(expense)
        advice = expense.llm_advice
        if was is None or advice is None:
            continue
        me = as_past(expense)
        facts = facts_of(expense, policy, history_for(policy, me, histories.candidates(me)))
        decision = route_expense(policy, facts, advice)
        why = change(Recorded(was, expense.rule_trace), decision)
        yield Replayed(expense, was, decision.route.value, why)
