"""The sweeper's query: lost evaluations, missing cards and untold submitters, and nothing else."""

import uuid
from datetime import timedelta

from sqlalchemy import update

from app import job_names
from app.db import Database
from app.services import expenses
from app.services.recovery import lost_jobs
from models import Comment, Decision, SlackMessage
from models.base import utcnow
from tests.factories import age, click, new_expense, pending_expense, person, sent


def jobs_for(db: Database, ids: set[uuid.UUID]) -> set[tuple[str, tuple[object, ...]]]:
    with db.session() as session:
        found = lost_jobs(session, stuck_before=utcnow() - timedelta(minutes=5))
    # Other tests' lost work is in the same database; some jobs take a comment id, not an expense.
    wanted = {str(expense_id) for expense_id in ids}
    return {(j.task, j.args) for j in found if str(j.args[0]) in wanted}


def test_only_lost_work_is_requeued(db: Database) -> None:
    submitter, approver = person(db), person(db, "approver")
    with db.session() as session:
        stuck, _ = expenses.submit(session, submitter, new_expense("5.00"), None)
        fresh, _ = expenses.submit(session, submitter, new_expense("6.00"), None)
    cardless = pending_expense(db, submitter)
    carded = pending_expense(db, submitter)
    sent(db, carded, "card", step=0)
    told, untold = pending_expense(db, submitter), pending_expense(db, submitter)
    for expense_id in (told, untold):
        click(db, expense_id, approver)
    sent(db, told, "dm")
    for expense_id in (stuck.id, cardless, carded, told, untold):
        age(db, expense_id)
    ids = {stuck.id, fresh.id, cardless, carded, told, untold}
    assert jobs_for(db, ids) == {
        (job_names.EVALUATE_EXPENSE, (str(stuck.id),)),
        (job_names.POST_APPROVAL_CARD, (str(cardless), 0)),
        (job_names.NOTIFY_SUBMITTER, (str(untold),)),
    }


def test_a_card_for_an_earlier_step_does_not_count(db: Database) -> None:
    submitter, approver = person(db), person(db, "approver")
    expense_id = pending_expense(db, submitter, amount="15000.00")
    sent(db, expense_id, "card", step=0)
    click(db, expense_id, approver)
    age(db, expense_id)
    assert jobs_for(db, {expense_id}) == {(job_names.POST_APPROVAL_CARD, (str(expense_id), 1))}


def book_card(db: Database, expense_id: uuid.UUID, slot_in: timedelta) -> None:
    """The outbox row of a card that booked its pacing slot and is waiting for it."""
    with db.session() as session:
        session.add(
            SlackMessage(
                dedupe_key=f"card:{expense_id}:0",
                expense_id=expense_id,
                kind="card",
                step=0,
                channel="C1",
                slot_at=utcnow() + slot_in,
            )
        )


def test_a_card_waiting_for_its_pacing_slot_is_not_stuck(db: Database) -> None:
    submitter = person(db)
    waiting, missed = pending_expense(db, submitter), pending_expense(db, submitter)
    book_card(db, waiting, timedelta(seconds=40))
    # Booked long ago and never sent: its worker died holding it.
    book_card(db, missed, timedelta(minutes=-8))
    for expense_id in (waiting, missed):
        age(db, expense_id)
    assert jobs_for(db, {waiting, missed}) == {(job_names.POST_APPROVAL_CARD, (str(missed), 0))}


def test_lost_card_updates_and_comments_are_requeued(db: Database) -> None:
    submitter, approver = person(db), person(db, "approver")
    lost, updated = pending_expense(db, submitter), pending_expense(db, submitter)
    for expense_id in (lost, updated):
        sent(db, expense_id, "card", step=0)
        click(db, expense_id, approver)
    with db.session() as session:
        session.execute(
            update(Decision)
            .where(Decision.expense_id.in_([lost, updated]))
            # Decided ten minutes ago; only one card was redrawn since.
            .values(decided_at=utcnow() - timedelta(minutes=10))
        )
        session.execute(
            update(SlackMessage)
            .where(SlackMessage.expense_id == updated, SlackMessage.kind == "card")
            .values(refreshed_at=utcnow())
        )
    commented = pending_expense(db, submitter)
    threaded = pending_expense(db, submitter)
    with db.session() as session:
        notes = [Comment(expense_id=e, text="why?") for e in (commented, threaded)]
        session.add_all(notes)
        session.flush()
        for note in notes:
            note.created_at = utcnow() - timedelta(minutes=10)
        lost_note, threaded_note = (note.id for note in notes)
        session.add(
            SlackMessage(
                dedupe_key=f"comment:{threaded_note}",
                expense_id=threaded,
                kind="comment",
                sent_at=utcnow(),
            )
        )
    with db.session() as session:
        found = {
            (j.task, j.args)
            for j in lost_jobs(session, stuck_before=utcnow() - timedelta(minutes=5))
        }
    assert (job_names.UPDATE_APPROVAL_CARD, (str(lost), 0)) in found
    assert (job_names.UPDATE_APPROVAL_CARD, (str(updated), 0)) not in found
    assert (job_names.POST_COMMENT, (lost_note,)) in found
    assert (job_names.POST_COMMENT, (threaded_note,)) not in found
