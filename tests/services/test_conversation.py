"""Questions, answers and cancelling on real PostgreSQL: transitions, refusals, audit, jobs."""

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from app import job_names
from app.db import Database
from app.domain.workflow import Status
from app.services import conversation, expenses
from app.services.conversation import Speaker
from app.services.decisions import DecisionOutcome, Result
from app.services.inbox import pending_steps
from app.services.recovery import lost_jobs
from models import AuditEvent, Comment, Employee, Expense, SlackMessage
from models.base import utcnow
from tests.conftest import JobRecorder
from tests.factories import click, new_expense, pending_expense, person


def ask(
    db: Database, expense_id: uuid.UUID, who: Employee, question: str = "Which client?"
) -> DecisionOutcome:
    assert who.slack_user_id
    with db.session() as session:
        return conversation.ask(
            session,
            expense_id=expense_id,
            step=0,
            slack_user_id=who.slack_user_id,
            question=question,
        )


def answer_by_api(
    db: Database, expense_id: uuid.UUID, who: Employee, text: str = "Acme"
) -> DecisionOutcome:
    with db.session() as session:
        employee = session.get(Employee, who.id)
        assert employee is not None
        return conversation.answer(
            session, expense_id=expense_id, speaker=Speaker.api(employee), text=text
        )


def cancel(db: Database, expense_id: uuid.UUID, who: Employee) -> DecisionOutcome:
    with db.session() as session:
        employee = session.get(Employee, who.id)
        assert employee is not None
        return conversation.cancel(session, expense_id=expense_id, speaker=Speaker.api(employee))


def status(db: Database, expense_id: uuid.UUID) -> Status:
    with db.session() as session:
        return conversation.status_of(session, expense_id)


def events(db: Database, expense_id: uuid.UUID) -> list[tuple[str, str | None, str | None]]:
    with db.session() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.expense_id == expense_id).order_by(AuditEvent.id)
        ).all()
        return [(e.action, e.channel, e.actor_email) for e in rows]


def test_an_approver_asks_and_the_submitter_answers(db: Database, jobs: JobRecorder) -> None:
    submitter, approver = person(db), person(db, "approver")
    expense_id = pending_expense(db, submitter)
    jobs.jobs.clear()
    assert ask(db, expense_id, approver).result is Result.DECIDED
    assert status(db, expense_id) is Status.NEEDS_INFO
    assert job_names.ASK_SUBMITTER in jobs.names()
    assert (job_names.UPDATE_APPROVAL_CARD, (str(expense_id), 0)) in [
        (j.task, j.args) for j in jobs.jobs
    ]
    homes = {j.args[0] for j in jobs.jobs if j.task == job_names.PUBLISH_HOME}
    assert homes == {submitter.slack_user_id, approver.slack_user_id}
    # While it waits for the answer nobody can decide the step.
    assert click(db, expense_id, approver).result is Result.ALREADY_DECIDED
    assert answer_by_api(db, expense_id, submitter).result is Result.DECIDED
    assert status(db, expense_id) is Status.PENDING_APPROVAL
    with db.session() as session:
        notes = session.scalars(
            select(Comment).where(Comment.expense_id == expense_id).order_by(Comment.id)
        ).all()
        assert [(n.kind, n.text) for n in notes] == [
            ("question", "Which client?"),
            ("answer", "Acme"),
        ]
    actions = events(db, expense_id)
    assert ("info_requested", "slack", approver.email) in actions
    assert ("answered", "api", submitter.email) in actions
    assert click(db, expense_id, approver).result is Result.DECIDED


def test_only_who_may_decide_the_step_may_ask(db: Database) -> None:
    submitter, stranger = person(db), person(db)
    expense_id = pending_expense(db, submitter)
    assert ask(db, expense_id, submitter).refusal == "self_approval"
    assert ask(db, expense_id, stranger).refusal == "missing_role"
    assert status(db, expense_id) is Status.PENDING_APPROVAL


def test_only_the_submitter_may_answer_or_cancel_and_refusals_are_audited(db: Database) -> None:
    submitter, approver = person(db), person(db, "approver")
    expense_id = pending_expense(db, submitter)
    ask(db, expense_id, approver)
    assert answer_by_api(db, expense_id, approver).refusal == "not_submitter"
    assert cancel(db, expense_id, approver).refusal == "not_submitter"
    assert status(db, expense_id) is Status.NEEDS_INFO
    refused = [a for a in events(db, expense_id) if a[0] == "decision_refused"]
    assert refused == [("decision_refused", "api", approver.email)] * 2


def test_the_submitter_cancels_before_the_final_decision_only(
    db: Database, jobs: JobRecorder
) -> None:
    submitter, approver = person(db), person(db, "approver")
    waiting, decided = pending_expense(db, submitter), pending_expense(db, submitter)
    jobs.jobs.clear()
    assert cancel(db, waiting, submitter).result is Result.DECIDED
    assert status(db, waiting) is Status.CANCELLED
    assert job_names.NOTIFY_SUBMITTER in jobs.names()
    assert ("cancelled", "api", submitter.email) in events(db, waiting)
    click(db, decided, approver)
    again = cancel(db, decided, submitter)
    assert (again.result, again.status) == (Result.ALREADY_DECIDED, Status.APPROVED)
    assert cancel(db, waiting, submitter).result is Result.ALREADY_DECIDED


def test_a_waiting_expense_takes_comments_and_a_submitted_one_can_be_cancelled(
    db: Database, jobs: JobRecorder
) -> None:
    submitter = person(db)
    waiting = pending_expense(db, submitter)
    jobs.jobs.clear()
    assert answer_by_api(db, waiting, submitter, "note").result is Result.DECIDED
    assert status(db, waiting) is Status.PENDING_APPROVAL
    assert jobs.names() == [job_names.POST_COMMENT]
    with db.session() as session:
        expense, _ = expenses.submit(session, submitter, new_expense(), None)
    # Not routed yet: there is no card to comment under.
    assert answer_by_api(db, expense.id, submitter).status is Status.SUBMITTED
    assert cancel(db, expense.id, submitter).result is Result.DECIDED
    assert answer_by_api(db, expense.id, submitter).status is Status.CANCELLED


def sent_message(
    db: Database,
    expense_id: uuid.UUID,
    kind: str,
    *,
    channel: str = "C1",
    ts: str = "1.1",
    ago: timedelta = timedelta(0),
) -> None:
    """An outbox row Slack took `ago`: a card of step 0, or a question's direct message."""
    with db.session() as session:
        session.add(
            SlackMessage(
                dedupe_key=f"{kind}:{expense_id}:{uuid.uuid4().hex}",
                expense_id=expense_id,
                kind=kind,
                step=0 if kind == "card" else None,
                channel=channel,
                ts=ts,
                sent_at=utcnow() - ago,
            )
        )


def test_a_click_on_a_stale_card_redraws_it(db: Database, jobs: JobRecorder) -> None:
    submitter, approver = person(db), person(db, "approver")
    stale, fresh = pending_expense(db, submitter), pending_expense(db, submitter)
    sent_message(db, stale, "card", ago=timedelta(minutes=1))
    cancel(db, stale, submitter)
    cancel(db, fresh, submitter)
    sent_message(db, fresh, "card")  # drawn after the change
    jobs.jobs.clear()
    assert click(db, stale, approver).status is Status.CANCELLED
    assert click(db, fresh, approver).status is Status.CANCELLED
    updates = [j.args for j in jobs.jobs if j.task == job_names.UPDATE_APPROVAL_CARD]
    assert updates == [(str(stale), 0)]
    # Whatever they clicked on, their Home tab is published again too.
    homes = [j.args for j in jobs.jobs if j.task == job_names.PUBLISH_HOME]
    assert homes == [(approver.slack_user_id,)] * 2


def test_a_dm_thread_leads_back_to_its_question(db: Database) -> None:
    submitter, approver = person(db), person(db, "approver")
    expense_id = pending_expense(db, submitter)
    ask(db, expense_id, approver)
    sent_message(db, expense_id, "question", channel="D0X", ts="17.000001")
    with db.session() as session:
        assert conversation.question_thread(session, "D0X", "17.000001") == (expense_id, 0)
        assert conversation.question_thread(session, "D0X", "17.000002") is None
        assert conversation.question_thread(session, "D0Y", "17.000001") is None


def test_the_sweeper_resends_lost_questions_and_redraws_changed_cards(db: Database) -> None:
    submitter, approver = person(db), person(db, "approver")
    asked, changed = pending_expense(db, submitter), pending_expense(db, submitter)
    sent_message(db, changed, "card", ago=timedelta(minutes=20))
    ask(db, asked, approver)
    cancel(db, changed, submitter)
    with db.session() as session:
        session.execute(
            update(Expense)
            .where(Expense.id.in_([asked, changed]))
            .values(updated_at=utcnow() - timedelta(minutes=10))
        )
        session.execute(
            update(Comment)
            .where(Comment.expense_id == asked)
            .values(created_at=utcnow() - timedelta(minutes=10))
        )
        question = session.scalar(select(Comment.id).where(Comment.expense_id == asked))
    with db.session() as session:
        found = {
            (j.task, j.args)
            for j in lost_jobs(session, stuck_before=utcnow() - timedelta(minutes=5))
        }
    assert (job_names.ASK_SUBMITTER, (question,)) in found
    assert (job_names.UPDATE_APPROVAL_CARD, (str(changed), 0)) in found
    assert (job_names.UPDATE_APPROVAL_CARD, (str(asked), 0)) not in found  # it has no card


def test_the_home_tab_lists_only_steps_the_viewer_may_decide(own_db: Database) -> None:
    # A database of its own: the tab lists the oldest open steps, which elsewhere could be any
    # other test's.
    db = own_db
    submitter, approver, other = person(db), person(db, "approver"), person(db)
    mine = pending_expense(db, submitter)
    own = pending_expense(db, approver)
    with db.session() as session:
        viewer = session.get(Employee, approver.id)
        stranger = session.get(Employee, other.id)
        assert viewer is not None
        assert stranger is not None
        listed = {e.id for e, _step in pending_steps(session, viewer)}
        assert mine in listed
        assert own not in listed  # nobody decides their own
        assert pending_steps(session, stranger) == []
    ask(db, mine, approver)
    with db.session() as session:
        viewer = session.get(Employee, approver.id)
        assert viewer is not None
        assert mine not in {e.id for e, _ in pending_steps(session, viewer)}
