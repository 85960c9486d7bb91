"""The scheduler's services on PostgreSQL: remind, escalate, expire once, with the clock moved;
and delegates deciding "acting for" an approver under the same separation of duties."""

import threading
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from app import job_names
from app.db import Database
from app.domain.audit import Actor, Channel
from app.domain.policy import Policy
from app.domain.routing import RoutingPolicy
from app.domain.timers import Duration, StepTimers, TimerAction, TimerPolicy
from app.services import decisions, timers
from app.services.delegations import DelegationRefused, delegate
from app.services.recovery import lost_jobs, lost_timer_jobs
from app.services.routing import step_at
from models import ApprovalStep, AuditEvent, Decision, Employee, SlackMessage
from models.base import utcnow
from tests.conftest import JobRecorder
from tests.factories import POLICY, age, click, decide_in, pending_expense, sent
from tests.factories import person as employee

POLICY_TIMED = replace(
    POLICY,
    timers=TimerPolicy(StepTimers(Duration(1, "h"), Duration(2, "h"), Duration(3, "h"))),
)


def run_tick(db: Database, now: datetime, policy: Policy = POLICY_TIMED) -> list[TimerAction]:
    """What the tick task does: find what is due, then apply each in its own transaction."""
    with db.session() as session:
        due, _ = timers.due_steps(session, policy, now)
    done = []
    for item in due:
        with db.session() as session:
            action = timers.apply_due(session, item.step_id, policy, now)
        if action is not None:
            done.append(action)
    return done


def opened(db: Database, expense_id: uuid.UUID) -> datetime:
    with db.session() as session:
        step = step_at(session, expense_id, 0)
        assert step is not None
        assert step.opened_at is not None
        return step.opened_at


def events(db: Database, expense_id: uuid.UUID | None, action: str) -> list[AuditEvent]:
    with db.session() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.expense_id == expense_id, AuditEvent.action == action
                )
            )
        )


def decide(
    db: Database, expense_id: uuid.UUID, who: Employee, step: int = 0
) -> decisions.DecisionOutcome:
    return click(db, expense_id, who, step=step)


def mine(jobs: JobRecorder, name: str, expense_id: uuid.UUID) -> int:
    return sum(1 for job in jobs.jobs if job.task == name and job.args[0] == str(expense_id))


def test_racing_ticks_remind_once(db: Database, jobs: JobRecorder) -> None:
    boss = employee(db, "approver")
    expense_id = pending_expense(db, employee(db, manager=boss))
    now = opened(db, expense_id) + timedelta(minutes=61)
    run_tick(db, now - timedelta(minutes=2))
    assert events(db, expense_id, "reminded") == []
    barrier = threading.Barrier(4)

    def tick() -> None:
        barrier.wait()
        run_tick(db, now)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run_tick(db, now)  # a repeated tick, as a second beat would send
    assert len(events(db, expense_id, "reminded")) == 1
    assert mine(jobs, job_names.SEND_REMINDER, expense_id) == 1
    reminded = events(db, expense_id, "reminded")[0]
    assert (reminded.channel, reminded.actor_id) == ("scheduler", "scheduler")


def test_escalation_goes_to_the_managers_manager_and_the_approver_loses_the_step(
    db: Database, jobs: JobRecorder
) -> None:
    director = employee(db, "approver")
    boss = employee(db, "approver", manager=director)
    expense_id = pending_expense(db, employee(db, manager=boss))
    start = opened(db, expense_id)
    run_tick(db, start + timedelta(hours=2))
    with db.session() as session:
        step = step_at(session, expense_id, 0)
        assert step is not None
        assert step.assignee_id == director.id
        assert step.approver_id == boss.id
        assert step.escalated_at == start + timedelta(hours=2)
    (escalated,) = events(db, expense_id, "escalated")
    assert escalated.details["escalated_from"] == boss.email
    assert escalated.details["escalated_to"] == director.email
    assert mine(jobs, job_names.POST_ESCALATED_CARD, expense_id) == 1
    assert mine(jobs, job_names.UPDATE_APPROVAL_CARD, expense_id) == 1
    homes = {job.args[0] for job in jobs.jobs if job.task == job_names.PUBLISH_HOME}
    assert {boss.slack_user_id, director.slack_user_id} <= homes
    assert decide(db, expense_id, boss).refusal == "not_your_step"
    assert decide(db, expense_id, director).result is decisions.Result.DECIDED


def test_with_nobody_to_escalate_to_the_expense_expires_and_is_not_rejected(
    db: Database, jobs: JobRecorder
) -> None:
    expense_id = pending_expense(db, employee(db))  # no manager: any approver, in the channel
    start = opened(db, expense_id)
    assert TimerAction.ESCALATE not in run_tick(db, start + timedelta(hours=2, minutes=59))
    run_tick(db, start + timedelta(hours=3))
    run_tick(db, start + timedelta(hours=4))
    (expired,) = events(db, expense_id, "expired")
    assert (expired.from_status, expired.to_status) == ("pending_approval", "expired")
    assert events(db, expense_id, "rejected") == []
    assert mine(jobs, job_names.NOTIFY_SUBMITTER, expense_id) == 1
    assert decide(db, expense_id, employee(db, "approver")).status == "expired"


def test_the_backup_approver_takes_a_channel_step(db: Database) -> None:
    backup = employee(db, "approver")
    policy = replace(POLICY_TIMED, routing=RoutingPolicy(backup_approver=backup.email))
    expense_id = pending_expense(db, employee(db))
    assert (
        run_tick(db, opened(db, expense_id) + timedelta(hours=2), policy).count(
            TimerAction.ESCALATE
        )
        >= 1
    )
    with db.session() as session:
        step = step_at(session, expense_id, 0)
        assert step is not None
        assert step.assignee_id == backup.id
    # Escalated once, nobody is left: it expires on time.
    run_tick(db, opened(db, expense_id) + timedelta(hours=3), policy)
    assert len(events(db, expense_id, "expired")) == 1


def away(db: Database, principal: Employee, deputy: Employee, until: date | None = None) -> None:
    with db.session() as session:
        delegate(
            session,
            principal=principal,
            delegate=deputy,
            until=until or utcnow().date() + timedelta(days=3),
            now=utcnow(),
            actor=Actor.employee(principal.id, principal.email),
            channel=Channel.CLI,
        )


def test_a_delegates_decision_is_recorded_acting_for_the_approver(
    db: Database, jobs: JobRecorder
) -> None:
    boss, deputy = employee(db, "approver"), employee(db)
    expense_id = pending_expense(db, employee(db, manager=boss))
    outsider = employee(db, "approver")
    assert decide(db, expense_id, outsider).refusal == "not_your_step"
    cards = mine(jobs, job_names.POST_APPROVAL_CARD, expense_id)
    away(db, boss, deputy)
    # The card already waiting on the boss is posted again: its delegate copy goes out.
    assert mine(jobs, job_names.POST_APPROVAL_CARD, expense_id) == cards + 1
    assert decide(db, expense_id, deputy).result is decisions.Result.DECIDED
    with db.session() as session:
        decision = session.scalar(select(Decision).where(Decision.expense_id == expense_id))
        assert decision is not None
        assert (decision.decided_by_id, decision.acting_for_id) == (deputy.id, boss.id)
    (approved,) = events(db, expense_id, "approved")
    assert approved.details["acting_for"] == boss.email
    assert approved.actor_email == deputy.email


def test_a_delegate_cannot_approve_their_own_expense_or_a_second_step(db: Database) -> None:
    boss = employee(db, "approver", "finance")
    deputy = employee(db, "approver", "finance", manager=boss)
    away(db, boss, deputy)
    own = pending_expense(db, deputy)  # the deputy's own expense waits on their boss
    assert decide(db, own, deputy).refusal == "self_approval"
    two_steps = pending_expense(db, employee(db, manager=boss), amount="15000.00")
    assert decide(db, two_steps, deputy).result is decisions.Result.DECIDED
    assert decide(db, two_steps, deputy, step=1).refusal == "second_step"
    # Nor may the approver they stood in for approve the next step.
    assert decide(db, two_steps, boss, step=1).refusal == "second_step"
    assert decide(db, two_steps, employee(db, "finance"), step=1).result is decisions.Result.DECIDED


def test_delegations_are_checked_and_replace_each_other(db: Database) -> None:
    boss, first, second = employee(db, "approver"), employee(db), employee(db)
    with pytest.raises(DelegationRefused, match="themselves"):
        away(db, boss, boss)
    with pytest.raises(DelegationRefused, match="in the past"):
        away(db, boss, first, until=date(2020, 1, 1))
    away(db, boss, first)
    away(db, boss, second)  # the newer delegation replaces the first
    expense_id = pending_expense(db, employee(db, manager=boss))
    assert decide(db, expense_id, first).refusal == "not_your_step"
    assert decide(db, expense_id, second).result is decisions.Result.DECIDED


def age_step(db: Database, expense_id: uuid.UUID, opened_ago: timedelta) -> None:
    with db.session() as session:
        session.execute(
            update(ApprovalStep)
            .where(ApprovalStep.expense_id == expense_id)
            .values(opened_at=utcnow() - opened_ago)
        )


def test_the_sweeper_resends_the_schedulers_lost_follow_ups(db: Database) -> None:
    reminded, expired = pending_expense(db, employee(db)), pending_expense(db, employee(db))
    age_step(db, reminded, timedelta(minutes=150))
    age_step(db, expired, timedelta(hours=4))
    run_tick(db, utcnow() - timedelta(minutes=10))
    age(db, expired)  # the expiry committed a while ago...
    sent(db, expired, "card", step=0)  # ...and its card, posted before, was never redrawn
    with db.session() as session:
        session.execute(
            update(SlackMessage)
            .where(SlackMessage.expense_id == expired)
            .values(sent_at=utcnow() - timedelta(minutes=20))
        )
    stuck_before, since = utcnow() - timedelta(minutes=5), utcnow() - timedelta(days=1)

    def lost() -> set[tuple[str, tuple[object, ...]]]:
        with db.session() as session:
            found = lost_timer_jobs(session, stuck_before=stuck_before, since=since)
            found += lost_jobs(session, stuck_before=stuck_before)
        mine = {str(reminded), str(expired)}
        return {(j.task, j.args) for j in found if j.args and str(j.args[0]) in mine}

    assert lost() == {
        (job_names.SEND_REMINDER, (str(reminded), 0)),
        (job_names.UPDATE_APPROVAL_CARD, (str(expired), 0)),
        (job_names.NOTIFY_SUBMITTER, (str(expired),)),
    }
    with db.session() as session:
        session.add(
            SlackMessage(
                dedupe_key=f"remind:{reminded}:0",
                expense_id=reminded,
                kind="reminder",
                channel="C1",
                ts="1.2",
                sent_at=utcnow(),
            )
        )
        session.execute(
            update(SlackMessage)
            .where(SlackMessage.expense_id == expired)
            .values(refreshed_at=utcnow())
        )
    sent(db, expired, "dm")
    assert lost() == set()


def test_a_click_checked_before_an_escalation_commits_is_checked_again(db: Database) -> None:
    director = employee(db, "approver")
    boss = employee(db, "approver", manager=director)
    expense_id = pending_expense(db, employee(db, manager=boss))
    escalated: list[list[TimerAction]] = []

    def escalate_meanwhile(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The scheduler commits after the click was checked against the boss, before it locks.
        if not escalated and "FROM decisions" in statement:
            escalated.append(run_tick(db, opened(db, expense_id) + timedelta(hours=2)))

    with db.session() as late:
        event.listen(late.connection(), "before_cursor_execute", escalate_meanwhile)
        outcome = decide_in(late, expense_id, boss)
    assert TimerAction.ESCALATE in escalated[0]
    assert outcome.refusal == "not_your_step"
    assert decide(db, expense_id, director).result is decisions.Result.DECIDED
