"""Settings for tests: development ones, and a production configuration with strong secrets."""

import secrets

from app.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def dev(**values: object) -> Settings:
    return settings(app_env="development", **values)


def strong_production(**overrides: object) -> dict[str, object]:
    """Everything production needs, each secret random; tests override one value at a time."""
    values: dict[str, object] = {
        "app_env": "production",
        "slack_bot_token": "xoxb-" + secrets.token_hex(20),
        "slack_signing_secret": secrets.token_hex(16),
        "session_secret": secrets.token_urlsafe(48),
        "openai_api_key": "sk-" + secrets.token_urlsafe(32),
        "database_url": f"postgresql+psycopg2://bot:{secrets.token_urlsafe(18)}@db:5432/bot",
        "celery_broker_url": "redis://redis:6379/0",
        "slack_team_id": "T0TEAM",
        "slack_app_id": "A0APP",
        "slack_approvals_channel": "C0REAL",
    }
    values.update(overrides)
    return values
