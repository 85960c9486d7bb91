"""Structured logs: JSON in production, readable in development, ids in context, no secrets."""

import json
import logging
import secrets

import pytest
from asgi_correlation_id import correlation_id

from app.logs import bind, configure_logging, unbind_all
from app.settings import Environment, Settings


def production(password: str = "x") -> Settings:
    """Production's rendering; model_construct skips the secret checks, not the subject here."""
    return Settings.model_construct(
        app_env=Environment.PRODUCTION,
        database_url=f"postgresql+psycopg2://bot:{password}@db/bot",
        celery_broker_url="redis://r:6379/0",
        rate_limit_storage_url="memory://",
    )


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level
    unbind_all()


def test_production_lines_are_json_with_ids_and_no_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = "pw-" + secrets.token_hex(8)
    configure_logging(production(password))
    token = correlation_id.set("req-123")
    try:
        bind(expense_id="e-1", task_id="t-1")
        logging.getLogger("app.test").warning("connecting with %s", password)
    finally:
        correlation_id.reset(token)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["level"] == "warning"
    assert line["logger"] == "app.test"
    assert line["timestamp"].endswith("Z")
    assert (line["request_id"], line["expense_id"], line["task_id"]) == ("req-123", "e-1", "t-1")
    assert password not in json.dumps(line)
    assert "***" in line["event"]


def test_library_loggers_are_rendered_the_same_way(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(production())
    logging.getLogger("uvicorn.access").info("GET /healthz 200")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["logger"] == "uvicorn.access"


def test_development_lines_are_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(_env_file=None, app_env="development"))
    logging.getLogger("app.test").info("hello")
    out = capsys.readouterr().err.strip().splitlines()[-1]
    assert "hello" in out
    assert not out.startswith("{")
