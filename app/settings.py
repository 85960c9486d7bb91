"""Typed settings, read from the environment and an optional `.env` file."""

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_POLICY_FILE = Path(__file__).with_name("default_policy.toml")
SLACK_PUBLIC_API_URL = "https://slack.com/api/"
# Values that only make sense on a developer's machine; refused in production.
SANDBOX_BOT_TOKEN = "xoxb-sandbox-token"
SANDBOX_SIGNING_SECRET = "sandbox-signing-secret"
PLACEHOLDER_MARKERS = ("sandbox", "change-me", "changeme", "placeholder")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("var")
    database_url: str = ""
    celery_broker_url: str = ""
    celery_queue: str = "expense-bot"
    public_base_url: str = "http://127.0.0.1:8000"

    slack_bot_token: SecretStr = SecretStr(SANDBOX_BOT_TOKEN)
    slack_signing_secret: SecretStr = SecretStr(SANDBOX_SIGNING_SECRET)
    slack_approvals_channel: str = "C0APPROVALS"
    # Empty means: Slack itself in production, the built-in sandbox in development.
    slack_api_url: str = ""
    # Threads per API process for Slack clicks: this many acks, and this many decisions, at once.
    slack_listener_threads: int = Field(default=32, ge=1, le=256)

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = Field(default=20.0, gt=0)
    openai_max_retries: int = Field(default=2, ge=0, le=5)

    policy_file: Path = DEFAULT_POLICY_FILE

    worker_concurrency: int = Field(default=16, ge=1)
    task_time_limit_seconds: int = Field(default=300, ge=10)
    broker_visibility_timeout_seconds: int = Field(default=3600, ge=60)
    stuck_after_seconds: int = Field(default=120, ge=10)
    sweep_interval_seconds: float = Field(default=60.0, ge=1)

    @field_validator("openai_api_key", "openai_base_url", "policy_file", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object, info: ValidationInfo) -> object:
        """`KEY=` in a .env file means "not set", not an empty value."""
        if isinstance(value, str) and not value.strip():
            return DEFAULT_POLICY_FILE if info.field_name == "policy_file" else None
        return value

    @model_validator(mode="after")
    def _fill_defaults_and_check(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'expense-bot.db'}"
        if not self.celery_broker_url:
            self.celery_broker_url = f"sqla+sqlite:///{self.data_dir / 'celery-broker.db'}"
        if self.task_time_limit_seconds >= self.broker_visibility_timeout_seconds:
            raise ValueError(
                "TASK_TIME_LIMIT_SECONDS must be below BROKER_VISIBILITY_TIMEOUT_SECONDS"
            )
        if self.app_env is Environment.PRODUCTION:
            self._refuse_placeholders()
        return self

    def _refuse_placeholders(self) -> None:
        secrets = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
        }
        for name, value in secrets.items():
            text = value.get_secret_value().lower()
            if any(marker in text for marker in PLACEHOLDER_MARKERS):
                raise ValueError(f"{name} holds a placeholder value; set a real one in production")
        if self.database_url.startswith("sqlite"):
            raise ValueError("DATABASE_URL must point at PostgreSQL in production")
        if self.celery_broker_url.startswith("sqla+"):
            raise ValueError("CELERY_BROKER_URL must point at Redis or RabbitMQ in production")

    @property
    def uses_sandbox(self) -> bool:
        """True when no Slack is configured: calls go to the stand-in mounted on this app."""
        placeholder = self.slack_bot_token.get_secret_value() == SANDBOX_BOT_TOKEN
        return not self.slack_api_url and placeholder and self.app_env is not Environment.PRODUCTION

    @property
    def effective_slack_api_url(self) -> str:
        if self.slack_api_url:
            return (
                self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"
            )
        if self.uses_sandbox:
            return f"{self.public_base_url.rstrip('/')}/sandbox/api/"
        return SLACK_PUBLIC_API_URL

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None or self.openai_base_url is not None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
