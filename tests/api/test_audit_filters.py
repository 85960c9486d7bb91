"""GET /audit/events filters, each with data that matches and data that must not, on a log of
its own (these tests only read it)."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db import Database
from app.domain.advice import LlmAdvice, Recommendation
from app.main import create_app
from app.policy_loader import load_policy
from app.services.decisions import Verdict
from app.settings import DEFAULT_POLICY_FILE
from bench.pg import scratch_database
from bench.standins.server import ServerThread
from tests.api.conftest import production_settings
from tests.api.helpers import Person
from tests.audit_story import CONFIDENT_APPROVE, click, expense, staff


@dataclass
class Story:
    client: TestClient
    auditor: Person
    alice: Person
    bob: Person
    ann: Person
    # e1 auto-approved; e2 meals approved by Ann; e3 EUR rejected by Ann against the AI;
    # e4 under policy v2, waiting; e5 approved after two refused clicks.
    e: dict[str, uuid.UUID]
    middle: datetime


@pytest.fixture(scope="module")
def story(
    migrated_template: str,
    slack_standin: ServerThread,
    policy_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Story]:
    with scratch_database("expense_bot_filters", template=migrated_template) as url:
        db = Database(url, job_sender=lambda _jobs: None)
        auditor = staff(db, "auditor")
        alice, bob = staff(db), staff(db)
        ann = staff(db, "approver")
        e: dict[str, uuid.UUID] = {}
        e["e1"] = expense(db, alice, amount="50.00", advice=CONFIDENT_APPROVE)
        e["e2"] = expense(db, alice, amount="200.00", category="meals", merchant="Cafe")
        click(db, e["e2"], ann)
        middle = datetime.now(UTC)
        against = LlmAdvice(Recommendation.APPROVE, 0.9, ("Looks fine",), "test-model")
        e["e3"] = expense(db, bob, amount="2000.00", currency="EUR", advice=against)
        click(db, e["e3"], ann, Verdict.REJECT, reason="No receipt")
        v2_file = tmp_path_factory.mktemp("v2") / "policy.toml"
        v2_file.write_text(
            DEFAULT_POLICY_FILE.read_text().replace('version = "', 'version = "v2-', 1)
        )
        e["e4"] = expense(
            db, bob, amount="300.00", category="software", policy=load_policy(v2_file)
        )
        e["e5"] = expense(db, alice, amount="1500.00")
        click(db, e["e5"], bob)  # refused: not an approver
        click(db, e["e5"], alice)  # refused: her own expense
        click(db, e["e5"], staff(db, "approver"))
        settings = production_settings(url, slack_standin.url, policy_file)
        app = create_app(settings, job_sender=lambda _jobs: None)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Story(client, auditor, alice, bob, ann, e, middle)
        app.state.db.dispose()
        db.dispose()


def events(story: Story, **query: str) -> list[dict[str, Any]]:
    response = story.client.get(
        "/audit/events", params={**query, "limit": "500"}, headers=story.auditor.auth
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["events"]
    return found


def expenses_of(story: Story, **query: str) -> set[str]:
    """Which of the story's expenses the matching events belong to, by their names."""
    names = {str(v): k for k, v in story.e.items()}
    return {names[e["expense_id"]] for e in events(story, **query) if e["expense_id"] in names}


def test_no_filter_lists_every_event(story: Story) -> None:
    assert expenses_of(story) == {"e1", "e2", "e3", "e4", "e5"}


def test_since_and_until_select_events_by_time(story: Story) -> None:
    middle = story.middle.isoformat().replace("+00:00", "Z")
    assert expenses_of(story, since=middle) == {"e3", "e4", "e5"}
    assert expenses_of(story, until=middle) == {"e1", "e2"}
    today = story.middle.date()
    assert expenses_of(story, since=today.isoformat(), until=today.isoformat()) == {
        "e1",
        "e2",
        "e3",
        "e4",
        "e5",
    }
    assert expenses_of(story, until=(today - timedelta(days=1)).isoformat()) == set()
    assert expenses_of(story, since=(today + timedelta(days=1)).isoformat()) == set()


def test_expense_id_selects_one_expense(story: Story) -> None:
    found = events(story, expense_id=str(story.e["e2"]))
    assert [e["action"] for e in found] == ["submitted", "routed_to_human", "approved"]


def test_submitter_selects_all_events_of_their_expenses(story: Story) -> None:
    assert expenses_of(story, submitter=story.alice.email.upper()) == {"e1", "e2", "e5"}
    assert expenses_of(story, submitter=story.bob.email) == {"e3", "e4"}
    # The approver's click on Alice's expense is an event of Alice's expense, so it is in.
    actions = {e["action"] for e in events(story, submitter=story.alice.email)}
    assert "approved" in actions
    assert "decision_refused" in actions


def test_actor_is_an_email_or_a_slack_id(story: Story) -> None:
    by_email = events(story, actor=story.ann.email)
    by_slack = events(story, actor=story.ann.slack_id)
    assert [e["id"] for e in by_email] == [e["id"] for e in by_slack]
    assert {(e["action"], e["expense_id"]) for e in by_email} == {
        ("approved", str(story.e["e2"])),
        ("rejected", str(story.e["e3"])),
    }
    bob = events(story, actor=story.bob.email)
    assert {e["action"] for e in bob} == {"submitted", "decision_refused"}


def test_action_selects_events(story: Story) -> None:
    refused = events(story, action="decision_refused")
    assert [e["expense_id"] for e in refused] == [str(story.e["e5"])] * 2
    assert [e["details"]["code"] for e in refused] == ["missing_role", "self_approval"]
    assert expenses_of(story, action="auto_approved") == {"e1"}


def test_decided_by_ai_or_human(story: Story) -> None:
    assert expenses_of(story, decided_by="ai") == {"e1"}
    assert expenses_of(story, decided_by="human") == {"e2", "e3", "e5"}


def test_outcome_is_the_final_status(story: Story) -> None:
    assert expenses_of(story, outcome="approved") == {"e1", "e2", "e5"}
    assert expenses_of(story, outcome="rejected") == {"e3"}


def test_policy_version_selects_events_that_name_it(story: Story) -> None:
    v2 = events(story, expense_id=str(story.e["e4"]), action="routed_to_human")[0]
    assert v2["policy_version"].startswith("v2-")
    found = events(story, policy_version=v2["policy_version"])
    assert {e["expense_id"] for e in found} == {str(story.e["e4"])}
    assert expenses_of(story, policy_version="no-such-version") == set()


def test_category_selects_expenses(story: Story) -> None:
    assert expenses_of(story, category="MEALS") == {"e2"}
    assert expenses_of(story, category="travel") == {"e1", "e3", "e5"}


def test_amounts_compare_in_the_policy_currency(story: Story) -> None:
    assert expenses_of(story, min_amount="1000") == {"e3", "e5"}
    assert expenses_of(story, max_amount="300") == {"e1", "e2", "e4"}
    # 2000 EUR at the recorded 1.08 is 2160 USD: only the conversion puts it in this window.
    assert expenses_of(story, min_amount="2100", max_amount="2200") == {"e3"}
    assert expenses_of(story, min_amount="1999", max_amount="2001") == set()


def test_filters_combine(story: Story) -> None:
    assert expenses_of(story, submitter=story.alice.email, outcome="approved") == {"e1", "e2", "e5"}
    assert expenses_of(story, submitter=story.alice.email, decided_by="ai") == {"e1"}
    assert expenses_of(story, submitter=story.bob.email, category="meals") == set()


def test_pages_of_a_filtered_list_add_up_to_the_whole(story: Story) -> None:
    whole = [e["id"] for e in events(story, submitter=story.alice.email)]
    paged: list[int] = []
    cursor: str | None = None
    while True:
        params = {
            "submitter": story.alice.email,
            "limit": "2",
            **({"cursor": cursor} if cursor else {}),
        }
        page = story.client.get("/audit/events", params=params, headers=story.auditor.auth).json()
        paged += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == whole
    assert len(whole) > 4


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("since", "yesterday"),
        ("since", "2026-02-30"),
        ("since", "٢٠٢٦-١١-٢٠"),
        ("until", "2026-13-01"),
        ("expense_id", "not-a-uuid"),
        ("submitter", "alice"),
        ("actor", "someone else"),
        ("action", "deleted"),
        ("decided_by", "robot"),
        ("outcome", "pending_approval"),
        ("policy_version", "a\nb"),
        ("category", "x" * 65),
        ("min_amount", "1e3"),
        ("max_amount", "-5"),
    ],
)
def test_a_bad_filter_value_is_a_422_that_names_it(story: Story, name: str, value: str) -> None:
    response = story.client.get("/audit/events", params={name: value}, headers=story.auditor.auth)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"][0]["field"] == f"query.{name}"
    assert response.headers["content-type"] == "application/problem+json"


def test_contradictory_ranges_name_the_second_bound(story: Story) -> None:
    bad = {"since": "2026-11-02", "until": "2026-11-01"}
    response = story.client.get("/audit/events", params=bad, headers=story.auditor.auth)
    assert response.json()["errors"][0]["field"] == "query.until"
    bad = {"min_amount": "10", "max_amount": "5"}
    response = story.client.get("/audit/events", params=bad, headers=story.auditor.auth)
    assert response.json()["errors"][0]["field"] == "query.max_amount"
