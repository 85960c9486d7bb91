"""POST /expenses and GET /expenses/{id} in-process: stored as normalised, refused with 4xx."""

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import job_names
from app.db import Database
from models import Expense
from tests.api.helpers import Person
from tests.conftest import JobRecorder
from tests.helpers import expense_body


def rows_of(db: Database, submitter: Person) -> int:
    with db.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Expense)
                .where(Expense.submitter_id == submitter.id)
            )
            or 0
        )


def test_accepted_expense_is_stored_normalised_and_queued(
    client: TestClient, person: Callable[..., Person], db: Database, jobs: JobRecorder
) -> None:
    alice = person()
    body = expense_body(
        currency="eur",
        amount="42.5",
        category="Travel",
        merchant="  Cafe\u0301 \u202eRail  ",
        description="Line one\r\nLine two\x07",
    )
    response = client.post("/expenses", json=body, headers=alice.auth)
    assert response.status_code == 202, response.text
    expense_id = uuid.UUID(response.json()["id"])
    assert response.headers["Location"] == f"/expenses/{expense_id}"
    assert response.headers["X-Request-ID"]
    with db.session() as session:
        stored = session.get(Expense, expense_id)
        assert stored is not None
        assert (stored.currency, str(stored.amount.normalize()), stored.category) == (
            "EUR",
            "42.5",
            "travel",
        )
        assert stored.merchant == "Café Rail"
        assert stored.description == "Line one\nLine two"
    assert jobs.jobs[-1].task == job_names.EVALUATE_EXPENSE
    assert jobs.jobs[-1].args == (str(expense_id),)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"amount": "1e3"}, "body.amount"),
        ({"amount": " 42.50"}, "body.amount"),
        ({"amount": "٤٢"}, "body.amount"),
        ({"amount": "-5"}, "body.amount"),
        ({"amount": "1,000"}, "body.amount"),
        ({"amount": 42.5}, "body.amount"),
        ({"amount": "100000.01"}, "body.amount"),  # over the policy's maximum
        ({"currency": "XAU"}, "body.currency"),
        ({"currency": "XTS"}, "body.currency"),
        ({"merchant": "Rail\n*Amount:* 1"}, "body.merchant"),
        ({"category": "travel\u2028meals"}, "body.category"),
        ({"merchant": "a\x00b"}, "body.merchant"),
        ({"description": "\ud800"}, "body.description"),
        ({"description": "x" * 2001}, "body.description"),
        ({"merchant": "\u202e\u202c"}, "body.merchant"),
        ({"incurred_on": "2999-01-01"}, "body.incurred_on"),
        ({"incurred_on": "1999-01-01"}, "body.incurred_on"),
        ({"incurred_on": 0}, "body.incurred_on"),
        ({"incurred_on": "2026-11-20T00:00:00"}, "body.incurred_on"),
        ({"receipt_url": "javascript:alert(1)"}, "body.receipt_url"),
        ({"receipt_url": "https://x.example/" + "a" * 2100}, "body.receipt_url"),
        ({"surprise": "field"}, "body.surprise"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_nothing_is_stored(
    client: TestClient,
    person: Callable[..., Person],
    db: Database,
    jobs: JobRecorder,
    override: dict[str, Any],
    field: str,
) -> None:
    alice = person()
    # json.dumps escapes lone surrogates as \\udXXX, as a hostile client's JSON would.
    headers = {**alice.auth, "Content-Type": "application/json"}
    response = client.post(
        "/expenses", content=json.dumps(expense_body(**override)), headers=headers
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["status"] == 422
    assert problem["request_id"] == response.headers["X-Request-ID"]
    assert field in [e["field"] for e in problem["errors"]], problem
    assert '"input"' not in response.text  # the bad value is never echoed back
    assert rows_of(db, alice) == 0
    assert jobs.jobs == []


def test_a_422_does_not_echo_large_input(client: TestClient, person: Callable[..., Person]) -> None:
    alice = person()
    huge = "Z" * 40_000
    response = client.post("/expenses", json=expense_body(merchant=huge), headers=alice.auth)
    assert response.status_code == 422
    assert huge[:100] not in response.text
    assert len(response.content) < 2000


def test_json_that_python_accepts_but_json_does_not_is_a_4xx(
    client: TestClient, person: Callable[..., Person]
) -> None:
    alice = person()
    headers = {**alice.auth, "Content-Type": "application/json"}
    for raw in (b'{"amount": NaN}', b"[" * 50_000, b"\xff\xfe", b"", b"null", b'"x"'):
        response = client.post("/expenses", content=raw, headers=headers)
        assert 400 <= response.status_code < 500, (raw[:20], response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
