"""Each attack class, tried for real: the refusal, and proof that nothing changed."""

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select

from app.db import Database
from app.domain.advice import LlmAdvice, LlmUnavailable, Recommendation
from app.domain.gate import route_expense
from app.policy_loader import load_policy
from app.services.evaluation import facts_of
from app.settings import Settings
from models import AuditEvent, Expense
from slack.sandbox.payloads import APP_ID, TEAM
from tests.api.conftest import AppFactory
from tests.api.helpers import Person, card_click, decisions_on, post_slack, signed_raw
from tests.conftest import JobRecorder
from tests.helpers import expense_body, wait_for

ROOT = Path(__file__).resolve().parents[2]
PersonFactory = Callable[..., Person]

# --- placeholder secrets ------------------------------------------------------------------


def example_env() -> dict[str, str]:
    """Production with every value copied from .env.example's commented production lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    for line in (ROOT / ".env.example").read_text().splitlines():
        name, sep, value = line.lstrip("# ").partition("=")
        if sep and name.isupper() and value:
            env[name] = value
    env["APP_ENV"] = "production"
    return env


@pytest.mark.parametrize("command", [["api", "--port", "9"], ["worker"], ["doctor"]])
def test_production_refuses_to_start_with_the_example_secrets(
    command: list[str], tmp_path: Path
) -> None:
    env = example_env()
    run = subprocess.run(
        [sys.executable, "-m", "app", *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 3, run.stderr
    for setting in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SESSION_SECRET", "DATABASE_URL"):
        assert setting in run.stderr
    for value in ("your-signing-secret", "xoxb-your-bot-token", "change-me", "sk-your-key"):
        assert value not in run.stderr + run.stdout


def test_an_app_signed_with_the_example_secret_cannot_even_be_built() -> None:
    with pytest.raises(ValidationError, match="SLACK_SIGNING_SECRET"):
        Settings(
            _env_file=None,
            app_env="production",
            slack_signing_secret="your-signing-secret",
        )


# --- development-only surfaces ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/sandbox/", "/sandbox/api/"])
def test_docs_and_sandbox_do_not_exist_in_production(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_docs_and_sandbox_exist_in_development(make_client: AppFactory) -> None:
    dev = make_client(app_env="development", slack_api_url="", slack_bot_token="xoxb-sandbox-token")
    assert dev.get("/docs").status_code == 200
    assert dev.get("/sandbox/").status_code == 200


# --- Slack: who a request comes from, and malformed requests ------------------------------


def refused_requests(db: Database, user: str) -> list[AuditEvent]:
    with db.session() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "slack_request_refused", AuditEvent.actor_id == user
                )
            )
        )


@pytest.mark.parametrize(
    "foreign",
    [
        {"team": {"id": "T0OTHER", "domain": "other"}},
        {"api_app_id": "A0OTHER"},
        {"api_app_id": None},
    ],
)
def test_requests_from_another_workspace_or_app_change_nothing_and_are_audited(
    client: TestClient,
    db: Database,
    person: PersonFactory,
    pending_expense: Callable[..., uuid.UUID],
    foreign: dict[str, Any],
) -> None:
    approver = person("approver")
    expense_id = pending_expense()
    response = post_slack(client, card_click(db, expense_id, approver.slack_id, **foreign))
    assert response.status_code == 403
    assert decisions_on(db, expense_id) == 0
    with db.session() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert expense.status == "pending_approval"
    refused = refused_requests(db, approver.slack_id)
    assert len(refused) == 1
    reason = refused[0].reason or ""
    assert "team_id" in reason or "api_app_id" in reason


def test_an_enterprise_id_is_checked_when_configured(
    make_client: AppFactory,
    db: Database,
    person: PersonFactory,
    pending_expense: Callable[..., uuid.UUID],
) -> None:
    client = make_client(slack_enterprise_id="E0OURS")
    approver = person("approver")
    expense_id = pending_expense()
    theirs = card_click(db, expense_id, approver.slack_id, enterprise={"id": "E0THEIRS"})
    assert post_slack(client, theirs).status_code == 403
    assert decisions_on(db, expense_id) == 0


def test_the_same_click_from_our_workspace_is_accepted(
    client: TestClient,
    db: Database,
    person: PersonFactory,
    pending_expense: Callable[..., uuid.UUID],
) -> None:
    """The control for the test above: only the origin differs."""
    approver = person("approver")
    expense_id = pending_expense()
    assert post_slack(client, card_click(db, expense_id, approver.slack_id)).status_code == 200
    assert refused_requests(db, approver.slack_id) == []


def test_unsigned_forged_stale_and_truncated_slack_requests_are_401(client: TestClient) -> None:
    payload = b"payload=" + json.dumps({"type": "block_actions", "team": TEAM}).encode()
    good = signed_raw(payload)
    cases: list[tuple[bytes, dict[str, str]]] = [
        (payload, {"Content-Type": "application/x-www-form-urlencoded"}),
        (payload, signed_raw(payload, secret="not-our-secret-" + secrets.token_hex(8))),
        (payload, signed_raw(payload, ts=str(int(time.time()) - 3600))),
        (payload[:-5], good),  # truncated in transit
        (payload, {**good, "X-Slack-Request-Timestamp": "soon"}),
        (payload, {**good, "X-Slack-Request-Timestamp": "1" * 40}),
        (payload, {**good, "X-Slack-Request-Timestamp": "-1"}),
        (payload, {**good, "X-Slack-Signature": "v0=zz"}),
        (payload, {**good, "X-Slack-Signature": good["X-Slack-Signature"].upper()}),
        (payload, {**good, "X-Slack-Signature": ""}),
    ]
    for body, headers in cases:
        response = client.post("/slack/events", content=body, headers=headers)
        assert response.status_code == 401, (body[:30], headers, response.text)
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        b"payload=not-json",
        b"payload=%7B",
        b"\xff\xfe\xfd",
        b"payload=" + json.dumps([1, 2]).encode(),
        b"payload=" + json.dumps({"type": "block_actions"}).encode(),
        b"payload=" + json.dumps({"type": "block_actions", "team": "T", "user": 5}).encode(),
        b"payload="
        + json.dumps(
            {"type": "block_actions", "team": TEAM, "api_app_id": APP_ID, "actions": "x"}
        ).encode(),
        b"payload="
        + json.dumps(
            {
                "type": "view_submission",
                "team": TEAM,
                "api_app_id": APP_ID,
                "user": {"id": "U1"},
                "view": {"callback_id": "expense_reject_modal", "state": 3},
            }
        ).encode(),
        b"",
        b"command=%2Fexpense&text=hi",
    ],
)
def test_signed_but_malformed_slack_bodies_are_never_a_500(client: TestClient, body: bytes) -> None:
    response = client.post("/slack/events", content=body, headers=signed_raw(body))
    assert response.status_code < 500, response.text


# --- oversize bodies ----------------------------------------------------------------------


def test_oversize_bodies_are_413_without_being_read(
    make_client: AppFactory, person: PersonFactory, db: Database
) -> None:
    client = make_client(max_body_bytes=2048)
    alice = person()
    declared = client.post(
        "/expenses",
        content=b"{" + b" " * 5000 + b"}",
        headers={**alice.auth, "Content-Type": "application/json"},
    )
    assert declared.status_code == 413
    assert declared.json()["status"] == 413

    def chunks() -> Iterator[bytes]:
        yield b'{"merchant": "'
        for _ in range(100):
            yield b"x" * 100

    streamed = client.post(
        "/expenses", content=chunks(), headers={**alice.auth, "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    with db.session() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Expense).where(Expense.submitter_id == alice.id)
            )
            == 0
        )
    big_slack = b"payload=" + b"x" * (1024 * 1024 + 1)
    assert client.post("/slack/events", content=big_slack).status_code == 413


# --- bad money, text, dates and cursors ---------------------------------------------------


@pytest.mark.parametrize(
    "override",
    [
        {"amount": "1E2"},
        {"amount": "١٢"},
        {"amount": "12.0\u200b"},
        {"amount": "+12"},
        {"amount": "12 "},
        {"amount": "1.001"},
        {"amount": "999999999"},
        {"currency": "XXX"},
        {"currency": "BOV"},
        {"merchant": "Cafe\r\n*Approved:* yes"},
        {"description": "ok\x00"},
        {"incurred_on": "2020-02-30"},
        {"incurred_on": "٢٠٢٦-١١-٢٠"},
    ],
)
def test_bad_money_text_and_dates_are_refused_and_not_stored(
    client: TestClient,
    person: PersonFactory,
    db: Database,
    jobs: JobRecorder,
    override: dict[str, Any],
) -> None:
    alice = person()
    response = client.post(
        "/expenses",
        content=json.dumps(expense_body(**override)),
        headers={**alice.auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    with db.session() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Expense).where(Expense.submitter_id == alice.id)
            )
            == 0
        )
    assert jobs.jobs == []


@pytest.mark.parametrize(
    "query",
    [
        "cursor=²",
        "cursor=-1",
        "cursor=1e3",
        "cursor=" + "9" * 19,
        "cursor=%00",
        "limit=0",
        "limit=501",
        "limit=abc",
        "limit=" + "9" * 40,
    ],
)
def test_bad_cursors_and_query_parameters_are_422(
    client: TestClient, person: PersonFactory, query: str
) -> None:
    dana = person("auditor")
    response = client.get(f"/audit/events?{query}", headers=dana.auth)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].startswith("query.")


def test_bad_path_and_header_values_are_4xx(client: TestClient, person: PersonFactory) -> None:
    alice = person()
    assert client.get("/expenses/not-a-uuid", headers=alice.auth).status_code == 422
    key = {"Idempotency-Key": "has space"}
    response = client.post("/expenses", json=expense_body(), headers={**alice.auth, **key})
    assert response.status_code == 422
    assert client.get("/expenses", headers=alice.auth).status_code in (404, 405)
    assert (
        client.post(
            "/expenses", json=expense_body(), headers={"Authorization": "Bearer \x7f"}
        ).status_code
        == 401
    )


# --- receipt URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "counted"),
    [
        ("https://files.example/r/1.pdf", True),
        ("http://files.example/r/1.pdf", False),
        ("https://tinyurl.com/abc", False),
        ("https://files.example.evil.test/r.pdf", False),
        ("https://files.example@evil.test/r.pdf", False),
    ],
)
def test_only_receipt_links_on_allowed_hosts_satisfy_the_receipt_rule(
    client: TestClient,
    person: PersonFactory,
    db: Database,
    policy_file: Path,
    url: str,
    counted: bool,
) -> None:
    alice = person()
    response = client.post("/expenses", json=expense_body(receipt_url=url), headers=alice.auth)
    assert response.status_code == 202, response.text
    policy = load_policy(policy_file)
    with db.session() as session:
        expense = session.get(Expense, uuid.UUID(response.json()["id"]))
        assert expense is not None
        assert expense.receipt_url is not None  # kept as a note either way; never fetched
        trace = route_expense(policy, facts_of(expense, policy), LlmUnavailable("-")).rule_trace
    receipt = next(r for r in trace if r.rule == "receipt_present")
    assert receipt.passed is counted
    if not counted:
        assert "not https on an allowed receipt host" in receipt.detail


# --- rate limits --------------------------------------------------------------------------


def client_at(make_client: AppFactory, address: str, **overrides: Any) -> TestClient:
    client = make_client(**overrides)
    return TestClient(client.app, raise_server_exceptions=False, client=(address, 50000))


def test_the_address_limit_answers_429_with_retry_after_before_authentication(
    make_client: AppFactory,
) -> None:
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    client = client_at(make_client, address, rate_limit_per_address="3/minute")
    statuses = [client.get("/audit/events").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    limited = client.get("/audit/events")
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["status"] == 429
    # Slack's requests are exempt: they all come from Slack's own addresses.
    assert client.post("/slack/events", content=b"").status_code == 401


def test_the_token_limit_is_per_token_and_shared_through_redis(
    make_client: AppFactory, person: PersonFactory, redis_url: str
) -> None:
    alice, bob = person(), person()
    shared = {"rate_limit_storage_url": redis_url, "rate_limit_per_token": "3/minute"}
    first, second = make_client(**shared), make_client(**shared)  # two API processes
    assert first.get(f"/expenses/{uuid.uuid4()}", headers=alice.auth).status_code == 404
    assert second.get(f"/expenses/{uuid.uuid4()}", headers=alice.auth).status_code == 404
    assert first.get(f"/expenses/{uuid.uuid4()}", headers=alice.auth).status_code == 404
    limited = second.get(f"/expenses/{uuid.uuid4()}", headers=alice.auth)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert first.get(f"/expenses/{uuid.uuid4()}", headers=bob.auth).status_code == 404


def test_an_unreachable_limiter_lets_requests_through(
    make_client: AppFactory, person: PersonFactory
) -> None:
    client = make_client(rate_limit_storage_url="redis://127.0.0.1:1/0")
    alice = person()
    assert client.get(f"/expenses/{uuid.uuid4()}", headers=alice.auth).status_code == 404


# --- role scoping -------------------------------------------------------------------------


def test_a_submitter_sees_the_decision_but_not_emails_or_ai_reasoning(
    client: TestClient,
    person: PersonFactory,
    db: Database,
    pending_expense: Callable[..., uuid.UUID],
) -> None:
    alice, bob, dana = person(), person("approver"), person("auditor")
    expense_id = pending_expense(alice)
    with db.session() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        expense.llm_advice = LlmAdvice(
            Recommendation.REJECT, 0.8, ("Looks like a personal trip",), "m"
        )
    assert post_slack(client, card_click(db, expense_id, bob.slack_id)).status_code == 200

    def approved() -> dict[str, Any] | None:
        seen = client.get(f"/expenses/{expense_id}", headers=alice.auth).json()
        return seen if seen["decisions"] else None

    own = wait_for(approved, timeout=10, what="the decision")
    assert own["decisions"][0]["decided_by"] == bob.name
    assert own["llm_advice"]["recommendation"] == "reject"
    assert own["llm_advice"]["reasons"] is None
    assert own["history"] is None
    text = json.dumps(own)
    assert bob.email not in text
    assert "personal trip" not in text

    audit_view = client.get(f"/expenses/{expense_id}", headers=dana.auth).json()
    assert audit_view["llm_advice"]["reasons"] == ["Looks like a personal trip"]
    assert bob.email in json.dumps(audit_view["history"])

    stranger = person()
    assert client.get(f"/expenses/{expense_id}", headers=stranger.auth).status_code == 404
    assert client.get("/audit/events", headers=alice.auth).status_code == 403


def test_the_policy_can_show_ai_reasons_to_submitters(
    make_client: AppFactory,
    person: PersonFactory,
    db: Database,
    pending_expense: Callable[..., uuid.UUID],
    tmp_path: Path,
    policy_file: Path,
) -> None:
    shown = tmp_path / "policy.toml"
    shown.write_text(
        policy_file.read_text().replace(
            "show_ai_reasons_to_submitter = false", "show_ai_reasons_to_submitter = true"
        )
    )
    client = make_client(policy_file=shown)
    alice = person()
    expense_id = pending_expense(alice)
    with db.session() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        expense.llm_advice = LlmAdvice(Recommendation.APPROVE, 0.9, ("ok",), "m")
    seen = client.get(f"/expenses/{expense_id}", headers=alice.auth).json()
    assert seen["llm_advice"]["reasons"] == ["ok"]


# --- secrets never reach logs or answers --------------------------------------------------


def test_no_secret_reaches_a_log_or_an_answer(
    make_client: AppFactory, person: PersonFactory, caplog: pytest.LogCaptureFixture
) -> None:
    password = "pw-" + secrets.token_hex(8)
    client = make_client(database_url=f"postgresql+psycopg2://postgres:{password}@127.0.0.1:1/x")
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    caplog.set_level("DEBUG")
    responses = [
        client.get(f"/expenses/{uuid.uuid4()}", headers={"Authorization": "Bearer x"}),
        client.post("/expenses", json={"amount": "x"}, headers={"Authorization": "Bearer x"}),
        client.post("/slack/events", content=b"payload=x"),
    ]
    # Reading meets the outage; intake checks the body first and refuses it before any lookup.
    assert [r.status_code for r in responses] == [503, 422, 401]
    assert responses[0].headers["Retry-After"]
    answers = [r.text for r in responses]
    for secret in (
        password,
        settings.slack_signing_secret.get_secret_value(),
        settings.slack_bot_token.get_secret_value(),
        settings.session_secret.get_secret_value(),
    ):
        assert secret not in caplog.text
        assert all(secret not in answer for answer in answers)
