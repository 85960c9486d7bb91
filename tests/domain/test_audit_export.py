"""The exported rows: RFC 4180 quoting, formula neutralisation, JSON Lines exactly as hashed."""

import csv
import hashlib
import io
import json
from datetime import UTC, datetime

import pytest

from app.domain.audit_chain import (
    GENESIS_HASH,
    EventContent,
    StoredEvent,
    canonical_values,
    chain_hash,
    stored_values,
)
from app.domain.audit_export import (
    BOM,
    CHUNK_CHARS,
    EXPORT_COLUMNS,
    csv_chunks,
    events_csv,
    events_jsonl,
    spreadsheet_safe,
)


def event(
    i: int, reason: str | None = "ok", actor_id: str | None = "a@corp.example"
) -> StoredEvent:
    content = EventContent(
        created_at=datetime(2026, 11, 2, 9, 0, i % 60, tzinfo=UTC),
        expense_id=None,
        channel="slack",
        actor_kind="slack_user",
        actor_id=actor_id,
        actor_employee_id=7,
        actor_email="a@corp.example",
        action="rejected",
        from_status="pending_approval",
        to_status="rejected",
        amount="12.50",
        currency="EUR",
        policy_amount="13.50",
        policy_currency="USD",
        fx_rate="1.08",
        reason=reason,
        policy_version="2026-12-01.1",
        rule_trace=[{"rule": "category_allowed", "passed": True}],
        llm_model="m",
        llm_recommendation="approve",
        llm_confidence=0.93,
        llm_reasons=['fine, "really"'],
        details={"step": 0, "note": "é"},
    )
    values = stored_values(content)
    digest = chain_hash(i, GENESIS_HASH, canonical_values(values))
    return StoredEvent(i, i, GENESIS_HASH, digest, 1, values)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_that_would_start_a_formula_are_neutralised(start: str) -> None:
    assert spreadsheet_safe(f'{start}HYPERLINK("http://x")') == f'\'{start}HYPERLINK("http://x")'


@pytest.mark.parametrize("value", ["plain", "a=b", " =1", "", None, 5, 0.5, "'quoted"])
def test_other_values_are_left_alone(value: object) -> None:
    assert spreadsheet_safe(value) == value


def read_csv(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :], newline="")))


def test_the_csv_has_a_header_quotes_per_rfc_4180_and_neutralises_formulas() -> None:
    hostile = [
        "=cmd|'/c calc'!A1",
        "+1+1",
        "-2",
        "@SUM(A1)",
        "\tx",
        "\rx",
        'comma, "quote"\nnew line',
    ]
    text = "".join(events_csv(event(i + 1, reason=r) for i, r in enumerate(hostile)))
    assert text.count("\n") == len(hostile) + 2  # header, rows, and the one inside a cell
    rows = read_csv(text)
    assert rows[0] == list(EXPORT_COLUMNS)
    reasons = [row[EXPORT_COLUMNS.index("reason")] for row in rows[1:]]
    assert reasons == [
        "'=cmd|'/c calc'!A1",
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        'comma, "quote"\nnew line',
    ]
    assert '"comma, ""quote""\nnew line"' in text  # quotes doubled inside a quoted cell
    first = rows[1]
    assert first[EXPORT_COLUMNS.index("details")] == '{"note":"é","step":0}'
    assert first[EXPORT_COLUMNS.index("created_at")] == "2026-11-02T09:00:01.000000Z"
    assert first[EXPORT_COLUMNS.index("llm_confidence")] == "0.93"


def test_a_neutralised_actor_id_is_neutralised_too() -> None:
    text = "".join(events_csv([event(1, actor_id="=2+2")]))
    assert read_csv(text)[1][EXPORT_COLUMNS.index("actor_id")] == "'=2+2"


def test_jsonl_lines_rehash_to_their_hash_without_the_apps_code() -> None:
    """What an auditor can do with the JSONL alone: rebuild each event's hash."""
    lines = "".join(events_jsonl(event(i) for i in range(1, 4))).splitlines()
    assert len(lines) == 3
    content_fields = EXPORT_COLUMNS[2:-3]
    for line in lines:
        row = json.loads(line)
        content = json.dumps(
            [row[f] for f in content_fields], ensure_ascii=False, separators=(",", ":")
        ).encode()
        header = f"expense-bot-audit/{row['format_version']}\n{row['seq']}\n{row['prev_hash']}\n"
        assert hashlib.sha256(header.encode() + content).hexdigest() == row["hash"]


def test_chunks_stay_near_their_size_and_add_up_to_the_whole() -> None:
    rows = [(i, "x" * 100) for i in range(5000)]
    chunks = list(csv_chunks(rows, ("n", "text")))
    assert len(chunks) > 5
    assert max(len(c) for c in chunks) < CHUNK_CHARS + 200
    assert len(read_csv("".join(chunks))) == 5001
