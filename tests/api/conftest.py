"""The app in-process on PostgreSQL, configured as production, with people who have tokens."""

import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from slack_sdk import WebClient
from sqlalchemy.engine import make_url

from app.db import Database, Job
from app.domain.advice import LlmUnavailable
from app.domain.gate import route_expense
from app.job_names import APPLY_DECISION_REQUEST
from app.main import create_app
from app.policy_loader import load_policy
from app.services import evaluation, expenses
from app.services.employees import add_employee, create_token
from app.services.evaluation import facts_of
from app.services.expenses import NewExpense
from app.settings import DEFAULT_POLICY_FILE, Settings
from bench.standins.server import ServerThread
from models import Employee, Expense
from slack.listeners.common import apply_and_answer
from slack.sandbox.app import create_sandbox_app
from slack.sandbox.payloads import APP_ID, TEAM
from tests.api.helpers import BOT_TOKEN, SIGNING_SECRET, Person
from tests.conftest import JobRecorder
from tests.helpers import RECEIPT_HOST


@pytest.fixture(scope="session")
def slack_standin() -> Iterator[ServerThread]:
    app = create_sandbox_app(
        bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, events_url="http://unused"
    )
    with ServerThread(app) as server:
        yield server


@pytest.fixture(scope="session")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped policy, with one allowed receipt host."""
    path = tmp_path_factory.mktemp("policy") / "policy.toml"
    text = DEFAULT_POLICY_FILE.read_text()
    path.write_text(text.replace("receipt_hosts = []", f'receipt_hosts = ["{RECEIPT_HOST}"]'))
    return path


def production_settings(
    postgres_url: str, slack_url: str, default_policy: Path, **overrides: Any
) -> Settings:
    """Production, with strong random secrets; the URL's password is ignored by trust auth."""
    url = make_url(postgres_url).set(password=secrets.token_urlsafe(18))
    values: dict[str, Any] = {
        "app_env": "production",
        "database_url": url.render_as_string(hide_password=False),
        "celery_broker_url": "redis://127.0.0.1:6379/0",
        "rate_limit_storage_url": "memory://",
        "rate_limit_per_token": "100000/minute",
        "rate_limit_per_address": "100000/minute",
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_team_id": TEAM["id"],
        "slack_approvals_channel": "C0CARDS",
        "slack_app_id": APP_ID,
        "slack_api_url": f"{slack_url}/api/",
        "session_secret": secrets.token_urlsafe(48),
        "llm_review": False,
    }
    values.update(overrides)
    values.setdefault("policy_file", default_policy)
    return Settings(_env_file=None, **values)


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(
    postgres_url: str, slack_standin: ServerThread, policy_file: Path, jobs: JobRecorder
) -> Iterator[AppFactory]:
    """Builds a client for an app with these setting overrides; each gets its own limiter."""
    apps: list[FastAPI] = []

    def make(**overrides: Any) -> TestClient:
        settings = production_settings(postgres_url, slack_standin.url, policy_file, **overrides)
        slack = WebClient(token=BOT_TOKEN, base_url=settings.slack_api_url)

        def worker(batch: Sequence[Job]) -> None:
            """Records the jobs, and applies a stored Slack decision at once, as a worker would."""
            jobs(batch)
            for job in batch:
                if job.task == APPLY_DECISION_REQUEST:
                    apply_and_answer(app.state.db, slack, job.args[0])

        app = create_app(settings, job_sender=worker)
        apps.append(app)
        return TestClient(app, raise_server_exceptions=False)

    yield make
    for app in apps:
        app.state.db.dispose()


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()


@pytest.fixture
def person(db: Database) -> Callable[..., Person]:
    """A new employee with a token; every call makes a different person."""

    def make(*roles: str, manager: Person | None = None) -> Person:
        tag = uuid.uuid4().hex[:10]
        with db.session() as session:
            employee = add_employee(
                session,
                email=f"{tag}@corp.example",
                name=f"Person {tag}",
                slack_user_id=f"U{tag.upper()}",
                roles=roles,
                manager_email=manager.email if manager else None,
            )
            token = create_token(session, employee)
            return Person(employee.id, employee.email, employee.name, f"U{tag.upper()}", token)

    return make


@pytest.fixture
def pending_expense(db: Database, person: Callable[..., Person]) -> Callable[..., uuid.UUID]:
    """An expense routed to a human, waiting on step 0, as the worker would leave it."""

    def make(submitter: Person | None = None, amount: str = "1500.00") -> uuid.UUID:
        owner = submitter or person()
        policy = load_policy(DEFAULT_POLICY_FILE)
        with db.session() as session:
            employee = session.get(Employee, owner.id)
            assert employee is not None
            data = NewExpense(
                amount=Decimal(amount),
                currency="USD",
                category="travel",
                merchant="Rail Co",
                description="Train",
                incurred_on=datetime.now(UTC).date(),
            )
            expense, _ = expenses.submit(session, employee, data, None)
            expense_id = expense.id
        advice = LlmUnavailable("not configured")
        with db.session() as session:
            stored = session.get(Expense, expense_id)
            assert stored is not None
            decision = route_expense(policy, facts_of(stored, policy), advice)
            assert evaluation.record_gate_decision(session, expense_id, decision, advice, policy)
        return expense_id

    return make
