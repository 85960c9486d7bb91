"""Directory changes on PostgreSQL: all or nothing, idempotent, audited; deactivation; tokens."""

import uuid
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from app.db import Database
from app.directory_changes import change_directory
from app.domain.audit import Actor, ActorKind, Channel
from app.domain.directory import LookupResults, read_csv
from app.domain.directory_plan import Outcome
from app.domain.errors import InvalidRows, NotFound
from app.services import decisions, directory
from app.services.employees import authenticate, create_token, list_tokens, revoke_token
from models import AuditEvent, Expense
from tests.factories import pending_expense, person

ADMIN = Actor(ActorKind.CLI_OPERATOR, "tester")
CLI = Channel.CLI
HEADER = "email,name,slack_user_id,manager_email,department,cost_center,roles"


class Domain:
    """A fresh email domain per test: the test's people are exactly those at this domain."""

    def __init__(self) -> None:
        self.name = f"{uuid.uuid4().hex[:10]}.example"

    def __call__(self, handle: str) -> str:
        return f"{handle}@{self.name}"


@pytest.fixture
def at() -> Domain:
    return Domain()


def csv_file(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def imported(db: Database, data: bytes) -> Sequence[Outcome]:
    report = change_directory(db, read_csv(data), actor=ADMIN, channel=CLI, lookup=None)
    return [c.outcome for c in report.plan.changes]


def people_at(db: Database, at: Domain) -> dict[str, directory.DirectoryEntry]:
    with db.session() as session:
        return {p.email: p for p in directory.listed(session) if p.email.endswith("@" + at.name)}


def events_about(db: Database, at: Domain) -> list[AuditEvent]:
    with db.session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.expense_id.is_(None))).all()
        return [e for e in events if str(e.details.get("email", "")).endswith("@" + at.name)]


def test_an_import_adds_everyone_links_managers_from_later_rows_and_audits(
    db: Database, at: Domain
) -> None:
    data = csv_file(
        f"{at('ann')},Ann,,{at('bob')},Sales,CC-1,",
        f"{at('bob')},Bob,,{at('cy')},Sales,CC-1,approver",
        f"{at('cy')},Cy,,,Board,CC-0,approver;finance;admin",
    )
    assert imported(db, data) == [Outcome.ADDED] * 3
    people = people_at(db, at)
    assert people[at("ann")].manager_email == at("bob")
    assert people[at("bob")].manager_email == at("cy")
    assert people[at("cy")].roles == ["admin", "approver", "employee", "finance"]
    assert (people[at("ann")].department, people[at("ann")].cost_center) == ("Sales", "CC-1")
    assert all(p.active for p in people.values())
    events = events_about(db, at)
    assert sorted(e.details["email"] for e in events) == sorted(people)
    assert {(e.action, e.actor_kind, e.actor_id) for e in events} == {
        ("employee_added", "cli_operator", "tester")
    }
    ann = next(e for e in events if e.details["email"] == at("ann"))
    assert (ann.channel, ann.details["employee_id"]) == ("cli", people[at("ann")].id)
    assert ann.details["changes"]["manager_email"] == {"from": None, "to": at("bob")}


def test_importing_the_same_file_again_changes_nothing(db: Database, at: Domain) -> None:
    data = csv_file(f"{at('ann')},Ann,,{at('bob')},,,", f"{at('bob')},Bob,,,,,approver")
    imported(db, data)
    before, events = people_at(db, at), len(events_about(db, at))
    assert imported(db, data) == [Outcome.UNCHANGED] * 2
    assert people_at(db, at) == before
    assert len(events_about(db, at)) == events


def test_an_update_records_what_changed(db: Database, at: Domain) -> None:
    imported(db, csv_file(f"{at('ann')},Ann,,,Sales,,"))
    assert imported(db, csv_file(f"{at('ann')},Ann Lee,,,Sales,,finance")) == [Outcome.UPDATED]
    updated = [e for e in events_about(db, at) if e.action == "employee_updated"]
    assert len(updated) == 1
    assert updated[0].details["changes"] == {
        "name": {"from": "Ann", "to": "Ann Lee"},
        "roles": {"from": ["employee"], "to": ["employee", "finance"]},
    }


@pytest.mark.parametrize(
    ("last_line", "line", "field"),
    [
        ("{cy},Cy,,,,,chief", 4, "roles"),
        ("{cy},Cy,,{nobody},,,", 4, "manager_email"),
        ("{cy},Cy,,{ann},,,", 2, "manager_email"),  # ann -> bob -> cy -> ann
        ("{ann},Ann again,,,,,", 4, "email"),
    ],
)
def test_one_bad_row_and_nothing_is_imported(
    db: Database, at: Domain, last_line: str, line: int, field: str
) -> None:
    handles = {h: at(h) for h in ("ann", "bob", "cy", "nobody")}
    data = csv_file(
        f"{at('ann')},Ann,,{at('bob')},,,",
        f"{at('bob')},Bob,,{at('cy')},,,",
        last_line.format(**handles),
    )
    with pytest.raises(InvalidRows) as refused:
        imported(db, data)
    assert [(p.line, p.field) for p in refused.value.problems] == [(line, field)]
    assert people_at(db, at) == {}
    assert events_about(db, at) == []


def test_a_loop_through_the_stored_directory_is_refused(db: Database, at: Domain) -> None:
    imported(db, csv_file(f"{at('ann')},Ann,,{at('boss')},,,", f"{at('boss')},Boss,,,,,"))
    before = people_at(db, at)
    with pytest.raises(InvalidRows, match="managers would loop"):
        imported(db, csv_file(f"{at('boss')},Boss,,{at('ann')},,,", f"{at('new')},New,,,,,"))
    assert people_at(db, at) == before


def test_slack_ids_can_be_swapped_in_one_import(db: Database, at: Domain) -> None:
    ann_id, bob_id = (f"U{uuid.uuid4().hex[:10].upper()}" for _ in range(2))
    imported(db, csv_file(f"{at('ann')},Ann,{ann_id},,,,", f"{at('bob')},Bob,{bob_id},,,,"))
    swapped = csv_file(f"{at('ann')},Ann,{bob_id},,,,", f"{at('bob')},Bob,{ann_id},,,,")
    assert imported(db, swapped) == [Outcome.UPDATED] * 2
    people = people_at(db, at)
    assert (people[at("ann")].slack_user_id, people[at("bob")].slack_user_id) == (bob_id, ann_id)


def test_looked_up_ids_are_stored_and_failures_reported(db: Database, at: Domain) -> None:
    found_id = f"U{uuid.uuid4().hex[:10].upper()}"
    asked: list[list[str]] = []

    def slack(emails: Sequence[str]) -> LookupResults:
        asked.append(list(emails))
        return LookupResults(found={at("ann"): found_id}, failed={at("bob"): "users_not_found"})

    cy_id = f"U{uuid.uuid4().hex[:10].upper()}"
    data = csv_file(f"{at('ann')},Ann,,,,,", f"{at('bob')},Bob,,,,,", f"{at('cy')},Cy,{cy_id},,,,")
    rows = read_csv(data)
    report = change_directory(db, rows, actor=ADMIN, channel=CLI, lookup=slack)
    assert asked == [[at("ann"), at("bob")]]  # cy has an id; only the others are looked up
    assert [(f.line, f.email, f.error) for f in report.lookup_failures] == [
        (3, at("bob"), "users_not_found")
    ]
    assert people_at(db, at)[at("ann")].slack_user_id == found_id
    again = change_directory(db, rows, actor=ADMIN, channel=CLI, lookup=slack)
    assert asked[-1] == [at("bob")]  # ann's id is stored now
    assert [c.outcome for c in again.plan.changes] == [Outcome.UNCHANGED] * 3


def test_deactivation_stops_tokens_and_decisions_but_keeps_history(db: Database) -> None:
    submitter, approver = person(db), person(db, "approver")
    expense_id = pending_expense(db, submitter)
    with db.session() as session:
        token = create_token(session, approver)
    with db.session() as session:
        assert authenticate(session, token) is not None
        assert directory.deactivate(session, approver.email, actor=ADMIN, channel=CLI)
        assert directory.deactivate(session, submitter.email, actor=ADMIN, channel=CLI)
    with db.session() as session:
        assert authenticate(session, token) is None
        assert not directory.deactivate(session, approver.email, actor=ADMIN, channel=CLI)
    with db.session() as session:
        outcome = decisions.decide_step(
            session,
            expense_id=expense_id,
            step=0,
            slack_user_id=approver.slack_user_id or "",
            verdict=decisions.Verdict.APPROVE,
        )
    assert outcome.result is decisions.Result.REFUSED
    with db.session() as session:
        note = decisions.comment(
            session,
            expense_id=expense_id,
            slack_user_id=submitter.slack_user_id or "",
            text="still here?",
        )
    assert note.result is decisions.Result.REFUSED
    with db.session() as session:
        # The deactivated submitter's expense and its history stay as they were.
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert expense.status == "pending_approval"
        refused = session.scalars(
            select(AuditEvent).where(
                AuditEvent.expense_id == expense_id, AuditEvent.action == "decision_refused"
            )
        ).all()
        assert [e.details["code"] for e in refused] == ["inactive", "inactive"]
        deactivations = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "employee_deactivated")
        ).all()
        assert [e.details["email"] for e in deactivations].count(approver.email) == 1


def test_deactivating_nobody_is_not_found(db: Database) -> None:
    with db.session() as session, pytest.raises(NotFound):
        directory.deactivate(
            session, f"{uuid.uuid4().hex}@nowhere.example", actor=ADMIN, channel=CLI
        )


def test_a_revoked_token_is_refused_from_the_next_lookup(db: Database) -> None:
    employee = person(db)
    with db.session() as session:
        token = create_token(session, employee)
        assert authenticate(session, token) is not None
    with db.session() as session:
        token_id = list_tokens(session, employee.email)[0][0].id
        _, revoked = revoke_token(session, token_id, actor=ADMIN, channel=CLI)
        assert revoked
    with db.session() as session:
        assert authenticate(session, token) is None
        _, again = revoke_token(session, token_id, actor=ADMIN, channel=CLI)
        assert not again
        with pytest.raises(NotFound):
            revoke_token(session, -1, actor=ADMIN, channel=CLI)
