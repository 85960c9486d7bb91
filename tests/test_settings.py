"""Typed settings: production unless asked otherwise, the embedded default, what it refuses."""

import secrets

import pytest
from pydantic import ValidationError

from app.settings import MODEL_NAME_MAX, SLACK_PUBLIC_API_URL, Settings
from models import AuditEvent, SlackMessage
from tests.settings_factories import dev, settings, strong_production


def test_production_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_ENV", raising=False)
    with pytest.raises(ValidationError, match="production refuses to start"):
        settings()
    assert settings(**strong_production()).app_env == "production"


def test_embedded_default_needs_no_services_in_development() -> None:
    s = dev()
    assert s.database_url.startswith("sqlite:///")
    assert s.celery_broker_url.startswith("sqla+sqlite:///")
    assert s.rate_limit_storage_url == "memory://"
    assert s.uses_sandbox
    assert s.effective_slack_api_url == "http://127.0.0.1:8000/sandbox/api/"
    assert not s.llm_enabled


def test_production_never_uses_the_sandbox() -> None:
    s = settings(**strong_production())
    assert not s.uses_sandbox
    assert s.effective_slack_api_url == SLACK_PUBLIC_API_URL
    assert s.rate_limit_storage_url == "redis://redis:6379/0"


def test_a_real_token_means_real_slack_even_in_development() -> None:
    s = dev(slack_bot_token="xoxb-123-real")
    assert not s.uses_sandbox
    assert s.effective_slack_api_url == SLACK_PUBLIC_API_URL


def test_blank_values_from_env_files_mean_unset() -> None:
    s = dev(openai_api_key="", openai_base_url=" ", policy_file="")
    assert not s.llm_enabled
    assert s.policy_file.name == "default_policy.toml"


def test_llm_review_can_be_switched_off() -> None:
    assert not dev(openai_api_key="sk-x", llm_review=False).llm_enabled
    s = settings(**strong_production(openai_api_key="", llm_review=False))
    assert not s.llm_enabled


def test_production_names_every_problem_without_printing_values() -> None:
    leaked = "xoxb-your-bot-token"
    with pytest.raises(ValidationError) as refused:
        settings(
            app_env="production",
            slack_bot_token=leaked,
            database_url="postgresql+psycopg2://bot:hunter2-very-secret-pw@db/bot",
        )
    message = str(refused.value)
    for name in (
        "SLACK_SIGNING_SECRET",
        "SLACK_BOT_TOKEN",
        "SESSION_SECRET",
        "OPENAI_API_KEY",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "SLACK_TEAM_ID",
        "SLACK_APP_ID",
    ):
        assert name in message
    assert leaked not in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("override", "setting"),
    [
        ({"slack_signing_secret": ""}, "SLACK_SIGNING_SECRET"),
        ({"slack_signing_secret": "8f742231b10e8888abcd99yyyzzz85a5"}, "SLACK_SIGNING_SECRET"),
        ({"slack_bot_token": "xoxp-" + secrets.token_hex(20)}, "SLACK_BOT_TOKEN"),
        ({"session_secret": "short-but-random-Q9"}, "SESSION_SECRET"),
        ({"session_secret": "a" * 64}, "SESSION_SECRET"),
        ({"openai_api_key": "sk-your-key"}, "OPENAI_API_KEY"),
        ({"openai_api_key": ""}, "OPENAI_API_KEY"),
        ({"database_url": "postgresql+psycopg2://bot@db/bot"}, "DATABASE_URL"),
        ({"database_url": "postgresql+psycopg2://bot:change-me@db/bot"}, "DATABASE_URL"),
        ({"database_url": "sqlite:///x.db"}, "DATABASE_URL"),
        ({"celery_broker_url": "sqla+sqlite:///b.db"}, "CELERY_BROKER_URL"),
        ({"slack_team_id": ""}, "SLACK_TEAM_ID"),
        ({"slack_app_id": ""}, "SLACK_APP_ID"),
        ({"slack_approvals_channel": "C0123456789"}, "SLACK_APPROVALS_CHANNEL"),
    ],
)
def test_production_refuses_each_weak_value(override: dict[str, object], setting: str) -> None:
    with pytest.raises(ValidationError, match=setting):
        settings(**strong_production(**override))


def test_production_accepts_a_self_hosted_model_and_a_socket_database() -> None:
    s = settings(
        **strong_production(
            openai_api_key="",
            openai_base_url="http://127.0.0.1:11434/v1",
            database_url="postgresql+psycopg2:///bot?host=/var/run/postgresql",
            celery_broker_url="amqp://bot:pw@rabbit:5672//",
        )
    )
    assert s.llm_enabled


def test_repr_hides_urls_and_secrets() -> None:
    s = settings(**strong_production())
    text = repr(s)
    assert s.database_url not in text
    assert s.session_secret.get_secret_value() not in text


def test_task_time_limit_must_fit_in_visibility_timeout() -> None:
    with pytest.raises(ValidationError, match="VISIBILITY"):
        dev(task_time_limit_seconds=4000, broker_visibility_timeout_seconds=3600)


@pytest.mark.parametrize(
    "values",
    [
        {"openai_model": "m" * (MODEL_NAME_MAX + 1)},
        {"openai_model": ""},
        {"slack_approvals_channel": "C" * 33},
        {"slack_approvals_channel": "general"},
        {"slack_team_id": "T0-TEAM"},
        {"rate_limit_per_token": "lots"},
        {"rate_limit_per_address": "10 per fortnight"},
        {"max_body_bytes": 10},
    ],
)
def test_values_the_app_cannot_use_or_store_are_refused_at_start(values: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        dev(**values)


def test_setting_limits_fit_the_columns_they_are_stored_in() -> None:
    model_column = AuditEvent.__table__.c.llm_model.type
    channel_column = SlackMessage.__table__.c.channel.type
    assert MODEL_NAME_MAX <= model_column.length  # type: ignore[attr-defined]
    pattern = Settings.model_fields["slack_approvals_channel"].metadata
    assert any("32" in str(m) for m in pattern)
    assert channel_column.length >= 32  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "broker", ["redis://redis:6379/0", "rediss://redis:6380/0", "amqp://bot:pw@rabbitmq:5672//"]
)
def test_production_takes_redis_or_rabbitmq(broker: str) -> None:
    s = settings(**strong_production(celery_broker_url=broker))
    assert s.celery_broker_url == broker


def test_the_llm_time_budget_stays_below_the_task_time_limit() -> None:
    # Three attempts of 20 s and two backoffs of at most 8 s.
    assert dev().llm_time_budget == 76
    with pytest.raises(ValidationError, match="must be below TASK_TIME_LIMIT_SECONDS"):
        dev(openai_timeout_seconds=60, openai_max_retries=4, task_time_limit_seconds=300)
