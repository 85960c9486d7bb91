"""Who may read what: employees their own expenses and timelines, auditors everything; every
refusal is answered clearly and is itself an audit event."""

import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import Database
from app.domain.advice import LlmAdvice, Recommendation
from app.services.decisions import Verdict
from models import AuditEvent
from tests.api.conftest import AppFactory
from tests.api.helpers import Person
from tests.audit_story import click, expense, staff

AUDITOR_ONLY = [
    "/audit/events",
    "/audit/export.csv",
    "/audit/export.jsonl",
    "/audit/reports/sample",
    "/audit/reports/sample.csv",
    "/audit/reports/sod",
    "/audit/reports/sod.csv",
    "/audit/reports/overrides",
    "/audit/reports/overrides.csv",
    "/audit/reports/timing",
    "/audit/reports/timing.csv",
]
DOUBTFUL = LlmAdvice(Recommendation.REJECT, 0.8, ("Looks like a personal trip",), "test-model")


def refusals(db: Database, who: Person) -> list[AuditEvent]:
    with db.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.action == "access_refused", AuditEvent.actor_employee_id == who.id
                )
                .order_by(AuditEvent.id)
            )
        )


@pytest.mark.parametrize("path", AUDITOR_ONLY)
def test_an_employee_is_refused_the_auditor_endpoints_and_the_refusal_is_audited(
    client: TestClient, db: Database, path: str
) -> None:
    eve = staff(db)
    response = client.get(path, headers=eve.auth)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "the auditor role is required to read the audit log"
    [event] = refusals(db, eve)
    assert event.actor_email == eve.email
    assert event.channel == "api"
    assert event.reason == response.json()["detail"]
    assert event.details == {"method": "GET", "path": path, "answer": 403}


@pytest.mark.parametrize("path", AUDITOR_ONLY)
def test_an_auditor_reads_them(client: TestClient, db: Database, path: str) -> None:
    dana = staff(db, "auditor")
    assert client.get(path, headers=dana.auth).status_code == 200
    assert refusals(db, dana) == []


@pytest.mark.parametrize("path", AUDITOR_ONLY)
def test_without_a_valid_token_it_is_401(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401


def story_with_advice(db: Database) -> tuple[Person, Person, uuid.UUID]:
    """Alice's expense, routed with the model's reasons, rejected by Bob with a reason."""
    alice, bob = staff(db), staff(db, "approver")
    expense_id = expense(db, alice, advice=DOUBTFUL)
    click(db, expense_id, staff(db), Verdict.APPROVE)  # refused: not an approver
    click(db, expense_id, bob, Verdict.REJECT, reason="Personal, not business")
    return alice, bob, expense_id


def test_the_submitter_reads_the_story_without_emails_reasons_or_refusals(
    client: TestClient, db: Database
) -> None:
    alice, bob, expense_id = story_with_advice(db)
    response = client.get(f"/expenses/{expense_id}/timeline", headers=alice.auth)
    assert response.status_code == 200, response.text
    story = response.json()
    assert [e["action"] for e in story["entries"]] == [
        "submitted",
        "llm_reviewed",
        "routed_to_human",
        "rejected",
    ]
    assert story["status"] == "rejected"
    rejected = story["entries"][-1]
    assert rejected["actor"] == bob.name
    assert rejected["reason"] == "Personal, not business"
    assert rejected["llm_recommendation"] == "reject"
    text = json.dumps(story)
    assert bob.email not in text
    assert "personal trip" not in text
    assert all(e["details"] is None and e["actor_email"] is None for e in story["entries"])


def test_an_auditor_reads_the_whole_story(client: TestClient, db: Database) -> None:
    alice, bob, expense_id = story_with_advice(db)
    dana = staff(db, "auditor")
    story = client.get(f"/expenses/{expense_id}/timeline", headers=dana.auth).json()
    actions = [e["action"] for e in story["entries"]]
    assert actions == [
        "submitted",
        "llm_reviewed",
        "routed_to_human",
        "decision_refused",
        "rejected",
    ]
    assert story["entries"][1]["reason"] == "Looks like a personal trip"
    assert story["entries"][-1]["actor_email"] == bob.email
    assert story["entries"][-1]["details"]["decided_by"] == bob.email
    ids = [e["id"] for e in story["entries"]]
    assert ids == sorted(ids)
    assert story["submitter"] == alice.name


def test_the_policy_can_show_the_ai_reasons_in_the_submitters_story(
    make_client: AppFactory, db: Database, tmp_path: Path, policy_file: Path
) -> None:
    shown = tmp_path / "policy.toml"
    shown.write_text(
        policy_file.read_text().replace(
            "show_ai_reasons_to_submitter = false", "show_ai_reasons_to_submitter = true"
        )
    )
    client = make_client(policy_file=shown)
    alice, _bob, expense_id = story_with_advice(db)
    story = client.get(f"/expenses/{expense_id}/timeline", headers=alice.auth).json()
    review = next(e for e in story["entries"] if e["action"] == "llm_reviewed")
    assert review["reason"] == "Looks like a personal trip"
    assert review["llm_reasons"] == ["Looks like a personal trip"]


@pytest.mark.parametrize("path", ["/expenses/{id}", "/expenses/{id}/timeline"])
def test_someone_elses_expense_is_404_and_the_attempt_is_audited(
    client: TestClient, db: Database, path: str
) -> None:
    alice, stranger = staff(db), staff(db)
    expense_id = expense(db, alice)
    response = client.get(path.format(id=expense_id), headers=stranger.auth)
    missing = client.get(path.format(id=uuid.uuid4()), headers=stranger.auth)
    # The same answer as for an expense that does not exist: nothing to learn from it.
    assert (response.status_code, response.json()["detail"]) == (404, "no such expense")
    assert (missing.status_code, missing.json()["detail"]) == (404, "no such expense")
    [event] = refusals(db, stranger)
    assert event.expense_id == expense_id
    assert event.details["answer"] == 404
    assert event.reason == "the expense is not theirs"


def test_a_token_holders_own_expense_is_never_refused(client: TestClient, db: Database) -> None:
    alice = staff(db)
    expense_id = expense(db, alice)
    assert client.get(f"/expenses/{expense_id}/timeline", headers=alice.auth).status_code == 200
    assert client.get(f"/expenses/{expense_id}", headers=alice.auth).status_code == 200
    assert refusals(db, alice) == []
