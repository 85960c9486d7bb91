"""Hostile bodies at intake: a 202 stores exactly the normalised input; a 4xx stores nothing."""

import json
import re
import unicodedata
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import AnyHttpUrl, TypeAdapter
from sqlalchemy import func, select

from app.db import Database
from models import Expense
from tests.api.helpers import Person
from tests.conftest import JobRecorder
from tests.helpers import expense_body

# The spec of intake's normalisation, written independently of app/domain/text.py.
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
TODAY = datetime.now(UTC).date()

tricky_chars = st.sampled_from(
    list(BIDI + BREAKS)
    + ["\x00", "\t", "\x07", "\x1b", "\ud800", "\udfff", "\u0301", "e\u0301", "\ufeff", "&", "<"]
    + ["*", "`", "\u00a0", "\u3000", "٣", "１", "ß", "😀", "\u200d"]
)
hostile_text = st.lists(st.one_of(st.text(max_size=8), tricky_chars), max_size=12).map("".join)
amounts = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("200000"), places=2).map(str),
    st.sampled_from(["1e3", " 5", "5 ", "-5", "+5", "1,000", "٣", "0", "0.001", "NaN", ".5", "5."]),
    hostile_text,
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
)
currencies = st.one_of(
    st.sampled_from(["USD", "eur", "Gbp", "JPY", "KWD", "CHF", "XAU", "XTS", "XXX", "BOV", "usd "]),
    hostile_text,
)
dates = st.one_of(
    st.integers(min_value=-400, max_value=3).map(lambda d: (TODAY + timedelta(days=d)).isoformat()),
    st.sampled_from(["2026-02-30", "20261201", "2026-12-01T00:00:00", "٢٠٢٦-١١-٢٠", ""]),
    st.integers(),
    hostile_text,
)
urls = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://files.example/r.pdf",
            "http://files.example/r.pdf",
            "https://tinyurl.com/x",
            "HTTPS://Files.Example/a b",
            "javascript:alert(1)",
            "ftp://files.example/r",
            "https://files.example@evil.test/",
        ]
    ),
    hostile_text,
)


MISSING = object()
HOSTILE: dict[str, st.SearchStrategy[Any]] = {
    "amount": amounts,
    "currency": currencies,
    "category": st.one_of(st.sampled_from(["travel", "Meals", "yachts"]), hostile_text),
    "merchant": hostile_text,
    "description": hostile_text,
    "incurred_on": dates,
    "receipt_url": urls,
    "extra": st.just("surprise"),
}


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid body with a few fields made hostile, or left out: most bodies probe one thing."""
    body: dict[str, Any] = expense_body()
    names = draw(st.lists(st.sampled_from(sorted(HOSTILE)), max_size=3, unique=True))
    for name in names:
        value = draw(st.one_of(HOSTILE[name], HOSTILE[name], HOSTILE[name], st.just(MISSING)))
        if value is MISSING:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def expected_text(value: str, *, multiline: bool) -> str:
    if multiline:
        value = re.sub(f"\r\n|[{BREAKS}]", "\n", value)
    keep = "\n\t" if multiline else ""
    value = "".join(
        c for c in value if c not in BIDI and (unicodedata.category(c) != "Cc" or c in keep)
    )
    return unicodedata.normalize("NFC", value).strip()


def expected_row(body: dict[str, Any]) -> dict[str, Any]:
    url = body.get("receipt_url")
    return {
        "amount": Decimal(body["amount"]),
        "currency": body["currency"].upper(),
        "category": expected_text(body["category"], multiline=False).lower(),
        "merchant": expected_text(body["merchant"], multiline=False),
        "description": expected_text(body["description"], multiline=True),
        "incurred_on": date.fromisoformat(body["incurred_on"]),
        "receipt_url": (
            None
            if url is None
            else str(TypeAdapter(AnyHttpUrl).validate_python(expected_text(url, multiline=False)))
        ),
    }


def stored_row(db: Database, expense_id: uuid.UUID) -> dict[str, Any]:
    with db.session() as session:
        row = session.get(Expense, expense_id)
        assert row is not None
        return {name: getattr(row, name) for name in expected_row(expense_body())}


def count(db: Database, submitter: Person) -> int:
    with db.session() as session:
        stmt = select(func.count()).select_from(Expense).where(Expense.submitter_id == submitter.id)
        return int(session.scalar(stmt) or 0)


@pytest.mark.slow
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies())
def test_hostile_bodies_are_stored_normalised_or_refused_with_nothing_stored(
    client: TestClient,
    person: Callable[..., Person],
    db: Database,
    jobs: JobRecorder,
    body: dict[str, Any],
) -> None:
    alice = person()
    queued = len(jobs.jobs)
    response = client.post(
        "/expenses",
        content=json.dumps(body),  # lone surrogates travel as JSON escapes
        headers={**alice.auth, "Content-Type": "application/json"},
    )
    assert response.status_code < 500, response.text
    event(f"answer {response.status_code}")
    if response.status_code == 202:
        expense_id = uuid.UUID(response.json()["id"])
        assert stored_row(db, expense_id) == expected_row(body)
        assert len(jobs.jobs) == queued + 1
    else:
        assert 400 <= response.status_code < 500
        assert response.headers["content-type"] == "application/problem+json"
        assert count(db, alice) == 0
        assert len(jobs.jobs) == queued
