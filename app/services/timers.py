"""The scheduler's use cases: find the open steps something is due for, and remind, escalate or
expire one of them, exactly once, however many ticks or workers race for it."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import job_names
from app.db import enqueue_after_commit
from app.domain.audit import SCHEDULER, AuditAction, Channel
from app.domain.policy import Policy
from app.domain.routing import Person, escalation_target
from app.domain.timers import StepClock, TimerAction, due_action
from app.domain.workflow import WAITING, Action, Status
from app.services import audit
from app.services.decisions import approvers_so_far, decision_context
from app.services.employees import find_by_email
from app.services.refresh import refresh_homes
from app.services.routing import person
from app.services.transitions import apply_transition
from models import ApprovalStep, Employee, Expense
from models.base import utcnow

PAGE = 500


@dataclass(frozen=True, slots=True)
class Due:
    step_id: int
    action: TimerAction


def _clock(step: ApprovalStep, expense: Expense, *, can_escalate: bool) -> StepClock:
    assert step.opened_at is not None  # only open steps are read
    return StepClock(
        status=Status(expense.status),
        opened_at=step.opened_at,
        reminded_at=step.reminded_at,
        escalated_at=step.escalated_at,
        can_escalate=can_escalate,
    )


def _target(
    session: Session, step: ApprovalStep, expense: Expense, policy: Policy
) -> Person | None:
    assignee = session.get(Employee, step.assignee_id) if step.assignee_id else None
    manager = (
        session.get(Employee, assignee.manager_id) if assignee and assignee.manager_id else None
    )
    backup_email = policy.routing.backup_approver
    backup = find_by_email(session, backup_email) if backup_email else None
    return escalation_target(
        assignee=person(assignee) if assignee else None,
        backup=person(backup) if backup else None,
        people={manager.id: person(manager)} if manager else {},
        submitter_id=expense.submitter_id,
        approved_earlier_steps=approvers_so_far(session, expense.id, step.position),
    )


def _due(
    session: Session, step: ApprovalStep, expense: Expense, policy: Policy, now: datetime
) -> tuple[TimerAction | None, Person | None]:
    """What is due for the step, and who it would escalate to; the lookup only when it matters."""
    timers = policy.timers.for_category(expense.category)
    found = {
        can: due_action(_clock(step, expense, can_escalate=can), timers, policy.timers, now)
        for can in (True, False)
    }
    if found[True] == found[False]:
        return found[True], None
    target = _target(session, step, expense, policy)
    return found[target is not None], target


def due_steps(
    session: Session, policy: Policy, now: datetime, *, after_id: int = 0
) -> tuple[list[Due], int | None]:
    """A page of open steps with something due at `now`, and the id to read the next page from."""
    rows = session.execute(
        select(ApprovalStep, Expense)
        .join(Expense, Expense.id == ApprovalStep.expense_id)
        .where(
            ApprovalStep.id > after_id,
            Expense.status.in_([s.value for s in WAITING]),
            ApprovalStep.position == Expense.current_step,
            ApprovalStep.opened_at.is_not(None),
        )
        .order_by(ApprovalStep.id)
        .limit(PAGE)
    ).all()
    due = [
        Due(step.id, action)
        for step, expense in rows
        if (action := _due(session, step, expense, policy, now)[0]) is not None
    ]
    return due, (rows[-1][0].id if len(rows) == PAGE else None)


def apply_due(session: Session, step_id: int, policy: Policy, now: datetime) -> TimerAction | None:
    """Do what is due for one step at `now`, if it still is; None when nothing was done.

    The expense row is locked first, as a decision locks it, so a click and the scheduler (or
    two schedulers) take turns; each then re-reads and finds the work done.
    """
    step = session.get(ApprovalStep, step_id)
    if step is None:
        return None
    expense = session.get(Expense, step.expense_id, with_for_update=True, populate_existing=True)
    if expense is None or expense.current_step != step.position or expense.status not in WAITING:
        return None
    session.refresh(step)
    action, target = _due(session, step, expense, policy, now)
    if action is TimerAction.REMIND:
        return action if _remind(session, step, expense, now) else None
    if action is TimerAction.ESCALATE:
        assert target is not None
        return action if _escalate(session, step, expense, target, now) else None
    if action is TimerAction.EXPIRE:
        return action if _expire(session, step, expense, now) else None
    return None


def _mark(session: Session, step: ApprovalStep, unset: str, **values: object) -> bool:
    """A conditional UPDATE: only the first writer sets the column."""
    column = getattr(ApprovalStep, unset)
    stmt = (
        update(ApprovalStep)
        .where(ApprovalStep.id == step.id, column.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    won = bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]
    session.expire(step)
    return won


def _record(
    session: Session,
    expense: Expense,
    action: AuditAction,
    now: datetime,
    reason: str,
    was: Status | None = None,
    **details: str | int | None,
) -> None:
    """The scheduler's audit event; `was` is the status before a transition, if one happened."""
    status = Status(expense.status)
    audit.record(
        session,
        expense_id=expense.id,
        actor=SCHEDULER,
        action=action,
        channel=Channel.SCHEDULER,
        from_status=(was or status).value,
        to_status=status.value,
        reason=reason,
        context=decision_context(
            session, expense, decision=False, tick_at=now.isoformat(), **details
        ),
    )


def _remind(session: Session, step: ApprovalStep, expense: Expense, now: datetime) -> bool:
    if not _mark(session, step, "reminded_at", reminded_at=now):
        return False
    _record(
        session,
        expense,
        AuditAction.REMINDED,
        now,
        "no decision yet",
        step=step.position,
        assignee_id=step.assignee_id,
    )
    enqueue_after_commit(session, job_names.SEND_REMINDER, str(expense.id), step.position)
    return True


def _escalate(
    session: Session, step: ApprovalStep, expense: Expense, target: Person, now: datetime
) -> bool:
    before = step.assignee_id
    if not _mark(session, step, "escalated_at", escalated_at=now, assignee_id=target.id):
        return False
    # The card changed: the sweeper redraws cards of expenses changed after they were drawn.
    session.execute(update(Expense).where(Expense.id == expense.id).values(updated_at=utcnow()))
    was = session.get(Employee, before) if before is not None else None
    now_on = session.get(Employee, target.id)
    _record(
        session,
        expense,
        AuditAction.ESCALATED,
        now,
        "no decision in time",
        step=step.position,
        escalated_from=was.email if was else None,
        escalated_to=now_on.email if now_on else None,
    )
    eid = str(expense.id)
    enqueue_after_commit(session, job_names.UPDATE_APPROVAL_CARD, eid, step.position)
    enqueue_after_commit(session, job_names.POST_ESCALATED_CARD, eid, step.position)
    # The step leaves one person's Home tab and joins another's.
    refresh_homes(session, expense, *(p.slack_user_id for p in (was, now_on) if p))
    return True


def _expire(session: Session, step: ApprovalStep, expense: Expense, now: datetime) -> bool:
    from_status = Status(expense.status)
    if not apply_transition(session, expense, Action.EXPIRE):
        return False
    _record(
        session,
        expense,
        AuditAction.EXPIRED,
        now,
        "nobody decided in time, and nobody was left to escalate to",
        was=from_status,
        step=step.position,
    )
    eid = str(expense.id)
    enqueue_after_commit(session, job_names.UPDATE_APPROVAL_CARD, eid, step.position)
    enqueue_after_commit(session, job_names.NOTIFY_SUBMITTER, eid)
    assignee = session.get(Employee, step.assignee_id) if step.assignee_id else None
    refresh_homes(session, expense, assignee.slack_user_id if assignee else None)
    return True
