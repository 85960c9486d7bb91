"""Every secret shipped as an example is refused in production, and nothing prints a secret."""

import re
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from app.secrets_check import masked_url, weakness
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SECRET_SETTINGS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SESSION_SECRET", "OPENAI_API_KEY")


def example_values(name: str) -> list[str]:
    text = (ROOT / ".env.example").read_text()
    return re.findall(rf"^#?\s*{name}=(.*)$", text, re.M)


@pytest.mark.parametrize("name", SECRET_SETTINGS)
def test_every_example_secret_in_env_example_is_refused(name: str) -> None:
    values = example_values(name)
    assert values, f".env.example documents {name}"
    for value in values:
        assert weakness(value.strip()) is not None, f"{name}={value} would be accepted"


def test_the_example_database_url_is_refused_in_production() -> None:
    urls = [v.strip() for v in example_values("DATABASE_URL") if v.strip()]
    assert urls
    for url in urls:
        problems = Settings.model_construct(
            database_url=url, celery_broker_url="redis://r:6379/0"
        ).production_problems()
        assert "DATABASE_URL" in [p.setting for p in problems]


@pytest.mark.parametrize(
    "make",
    [
        lambda: secrets.token_hex(16),
        lambda: secrets.token_urlsafe(48),
        lambda: "xoxb-" + "-".join(secrets.token_hex(6) for _ in range(3)),
    ],
    ids=["hex", "urlsafe", "bot-token"],
)
def test_random_secrets_pass(make: Callable[[], str]) -> None:
    # Many draws: a random secret must never look like a placeholder by chance.
    refused = [value for value in (make() for _ in range(5000)) if weakness(value) is not None]
    assert refused == []


def test_reasons_never_quote_the_value() -> None:
    for value in ("your-signing-secret", "", "abc", "zzzzzzzzzzzzzzzzzzzzzzz"):
        reason = weakness(value)
        assert reason is not None
        if value:
            assert value not in reason


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg2://bot:s3cr3t-pw@db:5432/bot",
            "postgresql+psycopg2://bot:***@db:5432/bot",
        ),
        ("redis://:s3cr3t-pw@redis:6379/0", "redis://:***@redis:6379/0"),
        ("amqp://bot:s3cr3t-pw@rabbit:5672//", "amqp://bot:***@rabbit:5672//"),
        ("sqlite:///var/expense-bot.db", "sqlite:///var/expense-bot.db"),
    ],
)
def test_masked_urls_hide_passwords(url: str, shown: str) -> None:
    assert masked_url(url) == shown
    assert "s3cr3t" not in masked_url(url)
