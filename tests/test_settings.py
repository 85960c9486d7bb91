"""Typed settings: defaults for the embedded mode, and what production refuses."""

import pytest
from pydantic import ValidationError

from app.settings import SLACK_PUBLIC_API_URL, Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_embedded_default_needs_no_services() -> None:
    s = settings()
    assert s.database_url.startswith("sqlite:///")
    assert s.celery_broker_url.startswith("sqla+sqlite:///")
    assert s.uses_sandbox
    assert s.effective_slack_api_url == "http://127.0.0.1:8000/sandbox/api/"
    assert not s.llm_enabled


def test_a_real_token_means_real_slack_even_in_development() -> None:
    s = settings(slack_bot_token="xoxb-123-real")
    assert not s.uses_sandbox
    assert s.effective_slack_api_url == SLACK_PUBLIC_API_URL


def test_blank_values_from_env_files_mean_unset() -> None:
    s = settings(openai_api_key="", openai_base_url=" ", policy_file="")
    assert not s.llm_enabled
    assert s.policy_file.name == "default_policy.toml"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "placeholder"),
        ({"slack_bot_token": "xoxb-1", "slack_signing_secret": "s3cret"}, "PostgreSQL"),
        (
            {
                "slack_bot_token": "xoxb-1",
                "slack_signing_secret": "s3cret",
                "database_url": "postgresql+psycopg2://db/x",
            },
            "Redis",
        ),
    ],
)
def test_production_refuses_development_values(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(app_env="production", **values)


def test_task_time_limit_must_fit_in_visibility_timeout() -> None:
    with pytest.raises(ValidationError, match="VISIBILITY"):
        settings(task_time_limit_seconds=4000, broker_visibility_timeout_seconds=3600)


@pytest.mark.parametrize(
    "broker", ["redis://redis:6379/0", "rediss://redis:6380/0", "amqp://bot:pw@rabbitmq:5672//"]
)
def test_production_takes_redis_or_rabbitmq(broker: str) -> None:
    s = settings(
        app_env="production",
        slack_bot_token="xoxb-1",
        slack_signing_secret="s3cret",
        database_url="postgresql+psycopg2://db/x",
        celery_broker_url=broker,
    )
    assert s.celery_broker_url == broker
