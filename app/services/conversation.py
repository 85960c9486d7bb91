"""The conversation on an expense: an approver's question, the submitter's answer, cancelling."""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import job_names
from app.db import enqueue_after_commit
from app.domain.audit import Actor, AuditAction, Channel
from app.domain.errors import NotFound
from app.domain.workflow import TRANSITIONS, WAITING, Action, Status
from app.services import audit
from app.services.decisions import (
    DecisionOutcome,
    Result,
    authorize_step,
    closed_step,
    decision_context,
    slack_actor,
)
from app.services.refresh import refresh_cards, refresh_homes
from app.services.routing import step_at
from app.services.transitions import apply_transition
from models import Comment, Employee, Expense, SlackMessage


@dataclass(frozen=True, slots=True)
class Speaker:
    """Who speaks for the submitter, and through which channel (Slack or the API)."""

    employee: Employee | None
    actor: Actor
    channel: Channel
    slack_user_id: str | None = None

    @classmethod
    def api(cls, employee: Employee) -> "Speaker":
        return cls(employee, Actor.employee(employee.id, employee.email), Channel.API)

    @classmethod
    def slack(cls, slack_user_id: str, employee: Employee | None) -> "Speaker":
        return cls(employee, slack_actor(slack_user_id, employee), Channel.SLACK, slack_user_id)


def _expense(session: Session, expense_id: uuid.UUID) -> Expense:
    expense = session.get(Expense, expense_id)
    if expense is None:
        raise NotFound("no such expense")
    return expense


def _note(
    session: Session,
    expense: Expense,
    author: Employee,
    slack_user_id: str | None,
    text: str,
    kind: str,
) -> Comment:
    note = Comment(
        expense_id=expense.id,
        author_id=author.id,
        slack_user_id=slack_user_id or author.slack_user_id,
        text=text,
        kind=kind,
    )
    session.add(note)
    session.flush()
    return note


def ask(
    session: Session, *, expense_id: uuid.UUID, step: int, slack_user_id: str, question: str
) -> DecisionOutcome:
    """Whoever may decide the open step asks the submitter; the step waits for the answer."""
    expense = _expense(session, expense_id)
    authorized = authorize_step(session, expense, step, slack_user_id, "ask")
    if isinstance(authorized, DecisionOutcome):
        return authorized
    asker, waiting, _acting_for = authorized
    from_status = expense.status
    if not apply_transition(session, expense, Action.ASK):
        return closed_step(session, expense, step, slack_user_id)
    note = _note(session, expense, asker, slack_user_id, question, "question")
    audit.record(
        session,
        expense_id=expense.id,
        actor=slack_actor(slack_user_id, asker),
        action=AuditAction.INFO_REQUESTED,
        channel=Channel.SLACK,
        from_status=from_status,
        to_status=expense.status,
        reason=question,
        context=decision_context(
            session, expense, step=step, role=waiting.role, comment_id=note.id
        ),
    )
    enqueue_after_commit(session, job_names.ASK_SUBMITTER, note.id)
    refresh_cards(session, expense)
    refresh_homes(session, expense, slack_user_id)
    return DecisionOutcome(Result.DECIDED, step_role=waiting.role)


def _assignee_slack_id(session: Session, expense: Expense) -> str | None:
    """Whom the current step waits on by name, if anyone: their Home tab lists it again."""
    waiting = step_at(session, expense.id, expense.current_step)
    if waiting is None or waiting.assignee_id is None:
        return None
    return session.scalar(select(Employee.slack_user_id).where(Employee.id == waiting.assignee_id))


def _refuse_non_submitter(
    session: Session, expense: Expense, speaker: Speaker, attempted: str
) -> DecisionOutcome | None:
    employee = speaker.employee
    if employee is not None and employee.id == expense.submitter_id and employee.active:
        return None
    code = "inactive" if employee is not None and not employee.active else "not_submitter"
    audit.record(
        session,
        expense_id=expense.id,
        actor=speaker.actor,
        action=AuditAction.DECISION_REFUSED,
        channel=speaker.channel,
        from_status=expense.status,
        to_status=expense.status,
        reason=f"only the submitter may {attempted} this expense",
        context=decision_context(session, expense, code=code, attempted=attempted),
    )
    return DecisionOutcome(Result.REFUSED, refusal=code)


def answer(
    session: Session, *, expense_id: uuid.UUID, speaker: Speaker, text: str
) -> DecisionOutcome:
    """The submitter writes: the answer to an open question, else a comment on a waiting one."""
    expense = _expense(session, expense_id)
    refused = _refuse_non_submitter(session, expense, speaker, "answer")
    if refused is not None:
        return refused
    assert speaker.employee is not None
    status = Status(expense.status)
    if status is Status.NEEDS_INFO:
        if not apply_transition(session, expense, Action.ANSWER):
            return closed_step(session, expense, expense.current_step)
        kind, action = "answer", AuditAction.ANSWERED
    elif status in WAITING:  # threaded under its card; before routing there is no card yet
        kind, action = "comment", AuditAction.COMMENTED
    else:
        return DecisionOutcome(Result.ALREADY_DECIDED, status=status)
    note = _note(session, expense, speaker.employee, speaker.slack_user_id, text, kind)
    audit.record(
        session,
        expense_id=expense.id,
        actor=speaker.actor,
        action=action,
        channel=speaker.channel,
        from_status=status.value,
        to_status=expense.status,
        reason=text,
        context=decision_context(session, expense, comment_id=note.id),
    )
    # Threaded under the card, so whoever asked is notified where they asked.
    enqueue_after_commit(session, job_names.POST_COMMENT, note.id)
    if kind == "answer":
        refresh_cards(session, expense)
        refresh_homes(session, expense, _assignee_slack_id(session, expense))
    return DecisionOutcome(Result.DECIDED)


def cancel(session: Session, *, expense_id: uuid.UUID, speaker: Speaker) -> DecisionOutcome:
    """The submitter withdraws the expense before its final decision."""
    expense = _expense(session, expense_id)
    refused = _refuse_non_submitter(session, expense, speaker, "cancel")
    if refused is not None:
        return refused
    from_status = Status(expense.status)
    if (from_status, Action.CANCEL) not in TRANSITIONS or not apply_transition(
        session, expense, Action.CANCEL
    ):
        return DecisionOutcome(Result.ALREADY_DECIDED, status=Status(expense.status))
    audit.record(
        session,
        expense_id=expense.id,
        actor=speaker.actor,
        action=AuditAction.CANCELLED,
        channel=speaker.channel,
        from_status=from_status.value,
        to_status=expense.status,
        context=decision_context(session, expense, step=expense.current_step),
    )
    refresh_cards(session, expense)
    refresh_homes(session, expense)
    enqueue_after_commit(session, job_names.NOTIFY_SUBMITTER, str(expense.id))
    return DecisionOutcome(Result.DECIDED, status=Status(expense.status))


def question_thread(session: Session, channel: str, ts: str) -> tuple[uuid.UUID, int] | None:
    """The expense (and its step now) whose question was posted as this direct message."""
    row = session.execute(
        select(Expense.id, Expense.current_step)
        .join(SlackMessage, SlackMessage.expense_id == Expense.id)
        .where(
            SlackMessage.kind == "question", SlackMessage.channel == channel, SlackMessage.ts == ts
        )
    ).first()
    return None if row is None else (row[0], row[1])


def status_of(session: Session, expense_id: uuid.UUID) -> Status:
    return Status(_expense(session, expense_id).status)
