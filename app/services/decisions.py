"""Approver decisions and comments: authorize, transition conditionally, audit, queue follow-ups.

Outcomes are data (what happened, who refused why, what came before); the Slack adapter words
them for people.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import job_names
from app.db import enqueue_after_commit
from app.domain.audit import Actor, AuditAction, Channel, EventContext, LlmOpinion
from app.domain.audit_chain import Json
from app.domain.errors import DecisionRefused, NotFound
from app.domain.money import in_minor_units
from app.domain.roles import Role
from app.domain.routing import check_may_decide
from app.domain.rules import RuleResult
from app.domain.workflow import Action, Status, approval_action, step_is_open
from app.services import audit
from app.services.delegations import delegate_of
from app.services.employees import find_by_slack_id
from app.services.refresh import refresh_homes, refresh_if_stale
from app.services.routing import open_next, person, plan_of, step_at, steps_of
from app.services.transitions import apply_transition
from models import ApprovalStep, Comment, Decision, Employee, Expense
from models.base import utcnow

MAX_REASON_LENGTH = 2000


class Verdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Result(StrEnum):
    DECIDED = "decided"
    REFUSED = "refused"
    ALREADY_DECIDED = "already_decided"


@dataclass(frozen=True, slots=True)
class PriorDecision:
    """The decision someone else made on the step first."""

    verdict: Verdict
    slack_user_id: str | None
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class DecisionOutcome:
    result: Result
    # REFUSED: the rule that refused (DecisionRefused.code) and the role the step needs.
    refusal: str | None = None
    step_role: str | None = None
    # ALREADY_DECIDED: the expense's status now, and the decision that got there first, if any.
    status: Status | None = None
    prior: PriorDecision | None = None
    # DECIDED: how long the step waited for its decision, since it opened.
    waited_seconds: float | None = None


def slack_actor(slack_user_id: str, person: Employee | None) -> Actor:
    if person is None:
        return Actor.slack_user(slack_user_id, None, None)
    return Actor.slack_user(slack_user_id, person.id, person.email)


def decision_context(
    session: Session, expense: Expense, *, decision: bool = False, **details: Json
) -> EventContext:
    """Each human decision is logged with the money, policy (and, for a decision, the rule
    trace) and AI advice it was made on."""
    amount = in_minor_units(expense.amount, expense.currency)
    if expense.policy_sha256 is not None:
        details["policy_sha256"] = expense.policy_sha256
    trace = expense.rule_trace if decision else None
    return EventContext(
        valuation=audit.gate_valuation(session, expense.id, amount, expense.currency),
        policy_version=expense.policy_version,
        rule_trace=None if trace is None else [RuleResult.from_dict(r) for r in trace],
        llm=None if expense.llm_advice is None else LlmOpinion.of(expense.llm_advice),
        details=details,
    )


def closed_step(
    session: Session, expense: Expense, step: int, clicker: str | None = None
) -> DecisionOutcome:
    """What already happened to `step`, for `clicker`, who clicked too late."""
    decision = session.scalar(
        select(Decision).where(Decision.expense_id == expense.id, Decision.step == step)
    )
    prior = (
        None
        if decision is None
        else PriorDecision(Verdict(decision.outcome), decision.slack_user_id, decision.decided_at)
    )
    # The card they clicked may be out of date: show them the truth, not only tell it.
    refresh_if_stale(session, expense, step)
    if clicker is not None:  # their Home tab may list it still
        enqueue_after_commit(session, job_names.PUBLISH_HOME, clicker)
    return DecisionOutcome(Result.ALREADY_DECIDED, status=Status(expense.status), prior=prior)


def open_step(
    session: Session, expense_id: uuid.UUID, step: int, clicker: str | None = None
) -> DecisionOutcome | None:
    """None while `step` awaits a decision; otherwise why it does not (gone: NotFound)."""
    expense = session.get(Expense, expense_id)
    if expense is None:
        raise NotFound("no such expense")
    if step_is_open(Status(expense.status), expense.current_step, step):
        return None
    return closed_step(session, expense, step, clicker)


def _named_approvers(session: Session, expense_id: uuid.UUID) -> set[int]:
    """Everyone a step of this chain names or waits on: a manager may comment without a role."""
    named: set[int] = set()
    for step in steps_of(session, expense_id):
        named.update(p for p in (step.approver_id, step.assignee_id) if p is not None)
    return named


def approvers_so_far(session: Session, expense_id: uuid.UUID, step: int) -> set[int]:
    """Who approved a step before `step` of this chain, or had a delegate approve it for them:
    they may not approve another.

    Only earlier steps: a decision on `step` itself that committed a moment ago is a lost race,
    answered as "already decided" by the conditional transition, not as a second step.
    """
    rows = session.execute(
        select(Decision.decided_by_id, Decision.acting_for_id).where(
            Decision.expense_id == expense_id,
            Decision.step < step,
            Decision.outcome == Verdict.APPROVE.value,
        )
    )
    return {person for row in rows for person in row if person is not None}


def _acting_for(session: Session, waiting: ApprovalStep, decider: Employee | None) -> int | None:
    """The step's assignee, when `decider` holds their delegation now."""
    assignee = waiting.assignee_id
    if decider is None or assignee is None or decider.id == assignee:
        return None
    holder = delegate_of(session, assignee, utcnow())
    return assignee if holder is not None and holder.id == decider.id else None


def _refuse(
    session: Session,
    expense: Expense,
    slack_user_id: str,
    person: Employee | None,
    step: int,
    refusal: DecisionRefused,
    attempted: str,
) -> DecisionOutcome:
    audit.record(
        session,
        expense_id=expense.id,
        actor=slack_actor(slack_user_id, person),
        action=AuditAction.DECISION_REFUSED,
        channel=Channel.SLACK,
        from_status=expense.status,
        to_status=expense.status,
        reason=str(refusal),
        context=decision_context(
            session, expense, code=refusal.code, attempted=attempted, step=step
        ),
    )
    role = expense.steps[step] if step < len(expense.steps) else None
    return DecisionOutcome(Result.REFUSED, refusal=refusal.code, step_role=role)


class Authorized(NamedTuple):
    decider: Employee
    step: ApprovalStep
    # The step's assignee when the decider holds their delegation; None for their own step.
    acting_for: int | None


def _check(
    session: Session, expense: Expense, step: int, waiting: ApprovalStep, decider: Employee | None
) -> int | None:
    """Raise DecisionRefused unless `decider` may decide the step now; whom they act for."""
    acting_for = _acting_for(session, waiting, decider)
    check_may_decide(
        decider=person(decider) if decider else None,
        submitter_id=expense.submitter_id,
        step=plan_of(waiting),
        assignee_id=waiting.assignee_id,
        acting_for_id=acting_for,
        approved_earlier_steps=approvers_so_far(session, expense.id, step),
    )
    return acting_for


def authorize_step(
    session: Session, expense: Expense, step: int, slack_user_id: str, attempted: str
) -> Authorized | DecisionOutcome:
    """Who acts on an open step, the step, and whom they act for; or the outcome that says why
    they may not.

    After the checks the expense is locked, as the scheduler locks it before it escalates, and
    the step looked at again: if it passed to someone else meanwhile, the decider is checked
    against them.
    """
    if not step_is_open(Status(expense.status), expense.current_step, step):
        return closed_step(session, expense, step, slack_user_id)
    decider = find_by_slack_id(session, slack_user_id)
    waiting = step_at(session, expense.id, step)
    if waiting is None:  # routed before steps had rows, and not migrated: nothing to decide
        return closed_step(session, expense, step, slack_user_id)
    try:
        checked = waiting.assignee_id
        acting_for = _check(session, expense, step, waiting, decider)
        session.refresh(expense, with_for_update=True)
        if not step_is_open(Status(expense.status), expense.current_step, step):
            return closed_step(session, expense, step, slack_user_id)
        session.refresh(waiting)
        if waiting.assignee_id != checked:
            acting_for = _check(session, expense, step, waiting, decider)
    except DecisionRefused as refusal:
        return _refuse(session, expense, slack_user_id, decider, step, refusal, attempted)
    assert decider is not None  # check_may_decide refuses unknown users
    return Authorized(decider, waiting, acting_for)


def decide_step(
    session: Session,
    *,
    expense_id: uuid.UUID,
    step: int,
    slack_user_id: str,
    verdict: Verdict,
    reason: str | None = None,
) -> DecisionOutcome:
    expense = session.get(Expense, expense_id)
    if expense is None:
        raise NotFound("no such expense")
    authorized = authorize_step(session, expense, step, slack_user_id, verdict.value)
    if isinstance(authorized, DecisionOutcome):
        return authorized
    decider, waiting, acting_for = authorized
    step_role = waiting.role
    from_status = expense.status
    action = (
        approval_action(step, len(expense.steps)) if verdict is Verdict.APPROVE else Action.REJECT
    )
    next_step = step + 1 if action is Action.APPROVE_STEP else step
    if not apply_transition(session, expense, action, current_step=next_step):
        return closed_step(session, expense, step, slack_user_id)
    if action is Action.APPROVE_STEP:
        open_next(session, expense.id, next_step, utcnow())
    session.add(
        Decision(
            expense_id=expense.id,
            step=step,
            role=step_role,
            outcome=verdict.value,
            decided_by_id=decider.id,
            acting_for_id=acting_for,
            slack_user_id=slack_user_id,
            reason=reason,
        )
    )
    principal = session.get(Employee, acting_for) if acting_for is not None else None
    on_behalf: dict[str, Json] = {"acting_for": principal.email} if principal else {}
    audit_action = {
        Action.APPROVE_STEP: AuditAction.STEP_APPROVED,
        Action.APPROVE: AuditAction.APPROVED,
        Action.REJECT: AuditAction.REJECTED,
    }[action]
    audit.record(
        session,
        expense_id=expense.id,
        actor=slack_actor(slack_user_id, decider),
        action=audit_action,
        channel=Channel.SLACK,
        from_status=from_status,
        to_status=expense.status,
        reason=reason,
        context=decision_context(
            session,
            expense,
            decision=True,
            step=step,
            role=step_role,
            decided_by=decider.email,
            **on_behalf,
        ),
    )
    enqueue_after_commit(session, job_names.UPDATE_APPROVAL_CARD, str(expense.id), step)
    refresh_homes(session, expense, slack_user_id)
    if action is Action.APPROVE_STEP:
        enqueue_after_commit(session, job_names.POST_APPROVAL_CARD, str(expense.id), next_step)
        enqueue_after_commit(session, job_names.NOTIFY_STEP, str(expense.id), step)
    else:
        enqueue_after_commit(session, job_names.NOTIFY_SUBMITTER, str(expense.id))
    opened = waiting.opened_at
    waited = (utcnow() - opened).total_seconds() if opened is not None else None
    return DecisionOutcome(Result.DECIDED, step_role=step_role, waited_seconds=waited)


def comment(
    session: Session, *, expense_id: uuid.UUID, slack_user_id: str, text: str
) -> DecisionOutcome:
    """Record a comment; the expense stays as it is. Approvers and the submitter may comment."""
    expense = session.get(Expense, expense_id)
    if expense is None:
        raise NotFound("no such expense")
    author = find_by_slack_id(session, slack_user_id)
    may_comment = author is not None and (
        author.id == expense.submitter_id
        or Role.APPROVER.value in author.roles
        or Role.FINANCE.value in author.roles
        or author.id in _named_approvers(session, expense.id)
    )
    refusal = None
    if author is not None and not author.active:
        refusal = DecisionRefused("inactive", "Your employee account is deactivated.")
    elif not may_comment:
        refusal = DecisionRefused(
            "may_not_comment", "Only approvers and the submitter may comment."
        )
    if refusal is not None:
        return _refuse(
            session,
            expense,
            slack_user_id,
            author,
            expense.current_step,
            refusal,
            "comment",
        )
    assert author is not None
    note = Comment(
        expense_id=expense.id, author_id=author.id, slack_user_id=slack_user_id, text=text
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        expense_id=expense.id,
        actor=slack_actor(slack_user_id, author),
        action=AuditAction.COMMENTED,
        channel=Channel.SLACK,
        from_status=expense.status,
        to_status=expense.status,
        reason=text,
        context=decision_context(session, expense, comment_id=note.id),
    )
    enqueue_after_commit(session, job_names.POST_COMMENT, note.id)
    return DecisionOutcome(Result.DECIDED)
