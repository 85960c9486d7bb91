"""The reports over HTTP and on the command line, on PostgreSQL, each scoped to its own people."""

import csv
import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.cli import EXIT_OK, EXIT_USAGE, main
from app.db import Database
from app.domain.advice import LlmAdvice, Recommendation
from app.services.decisions import Verdict
from tests.audit_story import CONFIDENT_APPROVE, click, expense, staff


class Clock:
    """The time audit events are stamped with, moved on by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("app.services.audit.utcnow", fake)
    return fake


def report(client: TestClient, auth: dict[str, str], name: str, **query: str) -> dict[str, Any]:
    response = client.get(f"/audit/reports/{name}", params=query, headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def report_csv(
    client: TestClient, auth: dict[str, str], name: str, **query: str
) -> list[dict[str, str]]:
    response = client.get(f"/audit/reports/{name}.csv", params=query, headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def test_the_sample_is_reproducible_with_its_seed(client: TestClient, db: Database) -> None:
    alice, dana = staff(db), staff(db, "auditor")
    approved = {
        str(expense(db, alice, amount="40.00", advice=CONFIDENT_APPROVE)) for _ in range(12)
    }
    expense(db, alice, amount="1500.00")  # routed to a human: never in the sample
    query = {"submitter": alice.email, "rate": "25%", "seed": "nov-close"}
    first = report(client, dana.auth, "sample", **query)
    again = report(client, dana.auth, "sample", **query)
    assert first["rows"] == again["rows"]
    assert first["parameters"] == {"seed": "nov-close", "rate": "0.25", "population": "12"}
    picked = [row["expense_id"] for row in first["rows"]]
    # The documented draw: the ceil(25% of 12) = 3 ids ranking first by SHA-256 of seed and id.
    ranked = sorted(approved, key=lambda i: hashlib.sha256(f"nov-close\n{i}".encode()).hexdigest())
    assert picked == ranked[:3]
    assert [row["rank"] for row in first["rows"]] == [1, 2, 3]
    assert all(row["llm_recommendation"] == "approve" for row in first["rows"])
    as_csv = report_csv(client, dana.auth, "sample", **query)
    assert [row["expense_id"] for row in as_csv] == picked
    assert {row["seed"] for row in as_csv} == {"nov-close"}


def test_without_a_seed_the_sample_says_which_one_it_drew_with(
    client: TestClient, db: Database
) -> None:
    alice, dana = staff(db), staff(db, "auditor")
    for _ in range(3):
        expense(db, alice, amount="40.00", advice=CONFIDENT_APPROVE)
    drawn = report(client, dana.auth, "sample", submitter=alice.email)
    seed = drawn["parameters"]["seed"]
    assert drawn["parameters"]["rate"] == "0.05"
    assert len(drawn["rows"]) == 1
    replay = report(client, dana.auth, "sample", submitter=alice.email, seed=seed)
    assert replay["rows"] == drawn["rows"]


def test_the_sod_report_lists_refused_decisions(client: TestClient, db: Database) -> None:
    alice, eve, dana = staff(db), staff(db), staff(db, "auditor")
    expense_id = expense(db, alice)
    click(db, expense_id, alice)  # her own
    click(db, expense_id, eve)  # not an approver
    rows = report_csv(client, dana.auth, "sod", submitter=alice.email)
    assert [(r["code"], r["actor_email"]) for r in rows] == [
        ("self_approval", alice.email),
        ("missing_role", eve.email),
    ]
    assert {r["expense_id"] for r in rows} == {str(expense_id)}
    assert rows[0]["submitter_email"] == alice.email
    assert rows[1]["actor_slack_id"] == eve.slack_id
    assert report(client, dana.auth, "sod", submitter=staff(db).email)["rows"] == []


def test_the_overrides_report_lists_decisions_against_the_ai(
    client: TestClient, db: Database
) -> None:
    alice, ann, dana = staff(db), staff(db, "approver"), staff(db, "auditor")

    def decided(recommendation: Recommendation, verdict: Verdict) -> uuid.UUID:
        advice = LlmAdvice(recommendation, 0.7, ("because",), "m")
        expense_id = expense(db, alice, amount="1500.00", advice=advice)
        click(db, expense_id, ann, verdict, reason="my call")
        return expense_id

    rejected_against = decided(Recommendation.APPROVE, Verdict.REJECT)
    approved_against = decided(Recommendation.REJECT, Verdict.APPROVE)
    decided(Recommendation.APPROVE, Verdict.APPROVE)
    decided(Recommendation.NEEDS_REVIEW, Verdict.REJECT)
    rows = report(client, dana.auth, "overrides", submitter=alice.email)["rows"]
    assert [(r["expense_id"], r["decision"], r["llm_recommendation"]) for r in rows] == [
        (str(rejected_against), "reject", "approve"),
        (str(approved_against), "approve", "reject"),
    ]
    assert rows[0]["approver_email"] == ann.email
    assert rows[0]["llm_confidence"] == 0.7


def test_the_timing_report_measures_each_step_and_approver(
    client: TestClient, db: Database, clock: Clock
) -> None:
    alice, dana = staff(db), staff(db, "auditor")
    ann, fin = staff(db, "approver"), staff(db, "finance")
    big = expense(db, alice, amount="12000.00")  # approver, then finance
    clock.advance(hours=2)
    click(db, big, ann)
    clock.advance(hours=5)
    click(db, big, fin, step=1)
    small = expense(db, alice, amount="1500.00")
    clock.advance(minutes=30)
    click(db, small, ann, Verdict.REJECT, reason="no")
    rows = report(client, dana.auth, "timing", submitter=alice.email)["rows"]
    by_key = {(r["scope"], r["key"]): r for r in rows}
    assert by_key[("step", "1 approver")] == {
        "scope": "step",
        "key": "1 approver",
        "decisions": 2,
        "median_seconds": (7200 + 1800) // 2,
        "p90_seconds": 7200,
        "max_seconds": 7200,
    }
    assert by_key[("step", "2 finance")]["median_seconds"] == 5 * 3600
    assert by_key[("approver", fin.email)]["decisions"] == 1
    assert by_key[("approver", ann.email)]["decisions"] == 2
    assert len(rows) == 4
    # The filter selects the decisions timed; the clock still starts at the step's opening.
    late = report(client, dana.auth, "timing", submitter=alice.email, actor=fin.email)["rows"]
    assert [(r["key"], r["median_seconds"]) for r in late] == [
        ("2 finance", 5 * 3600),
        (fin.email, 5 * 3600),
    ]


def test_reports_refuse_bad_parameters_by_name(client: TestClient, db: Database) -> None:
    dana = staff(db, "auditor")
    for query, field in [
        ({"rate": "0"}, "query.rate"),
        ({"seed": "a b"}, "query.seed"),
        ({"since": "soon"}, "query.since"),
    ]:
        response = client.get("/audit/reports/sample", params=query, headers=dana.auth)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field
    assert client.get("/audit/reports/nonsense", headers=dana.auth).status_code == 422


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, postgres_url: str, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("APP_ENV", "development")
    return tmp_path


def test_the_cli_prints_and_writes_the_same_reports(
    cli_env: Path, client: TestClient, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    alice, dana = staff(db), staff(db, "auditor")
    for _ in range(4):
        expense(db, alice, amount="40.00", advice=CONFIDENT_APPROVE)
    args = ["report", "sample", "--submitter", alice.email, "--rate", "50%", "--seed", "s"]
    assert main(args) == EXIT_OK
    table = capsys.readouterr().out
    assert "seed s, rate 0.5, population 4" in table
    assert "(2 row(s))" in table
    assert main([*args, "--csv", "sample.csv"]) == EXIT_OK
    with (cli_env / "sample.csv").open(encoding="utf-8-sig", newline="") as f:
        written = [row["expense_id"] for row in csv.DictReader(f)]
    api = report(client, dana.auth, "sample", submitter=alice.email, rate="0.5", seed="s")
    assert written == [row["expense_id"] for row in api["rows"]]
    for name in ("sod", "overrides", "timing"):
        assert main(["report", name, "--submitter", alice.email]) == EXIT_OK
        assert "(0 row(s))" in capsys.readouterr().out


def test_the_cli_names_a_bad_option(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "sod", "--since", "yesterday"]) == EXIT_USAGE
    assert "--since" in capsys.readouterr().err
    assert main(["report", "sample", "--rate", "2"]) == EXIT_USAGE
    assert "--rate" in capsys.readouterr().err
