"""Typed settings, read from the environment and an optional `.env` file."""

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from limits import parse as parse_rate_limit
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.secrets_check import Problem, production_problems

DEFAULT_POLICY_FILE = Path(__file__).with_name("default_policy.toml")
SLACK_PUBLIC_API_URL = "https://slack.com/api/"
# Values that only make sense on a developer's machine; refused in production.
SANDBOX_BOT_TOKEN = "xoxb-sandbox-token"
SANDBOX_SIGNING_SECRET = "sandbox-signing-secret"
# Sizes of the columns these settings are stored in (tests/test_settings.py cross-checks them).
MODEL_NAME_MAX = 200
SLACK_ID_MAX = 32
SLACK_ID_PATTERN = r"^[A-Z0-9]{2,32}$"
# A channel id, or `#name` (Slack's names: lowercase letters, digits, - and _), resolved at start.
CHANNEL_PATTERN = r"^([A-Z0-9]{2,32}|#[a-z0-9_-]{1,80})$"
# The openai SDK waits at most this long between two attempts when it picks the delay itself.
SDK_MAX_BACKOFF_SECONDS = 8.0


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class UnsafeConfiguration(ValueError):
    """Production refuses to start; each problem names its setting."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            "production refuses to start:\n"
            + "\n".join(f"  {p.setting}: {p.message}" for p in problems)
        )
        self.problems = problems


class Settings(BaseSettings):
    # Validation errors never echo the values: some of them are secrets.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    # Production unless development is asked for (`expense-bot dev`, or APP_ENV in .env).
    app_env: Environment = Environment.PRODUCTION
    data_dir: Path = Path("var")
    # URLs may carry passwords: kept out of repr; show them with `masked_url`.
    database_url: str = Field(default="", repr=False)
    celery_broker_url: str = Field(default="", repr=False)
    celery_queue: str = "expense-bot"
    public_base_url: str = "http://127.0.0.1:8000"
    # Signs cookies, such as the auditor page's session.
    session_secret: SecretStr = SecretStr("")

    slack_bot_token: SecretStr = SecretStr(SANDBOX_BOT_TOKEN)
    slack_signing_secret: SecretStr = SecretStr(SANDBOX_SIGNING_SECRET)
    # Requests from any other workspace, app or organisation change nothing.
    slack_team_id: str = Field(default="", pattern=r"^([A-Z0-9]{2,32})?$")
    slack_app_id: str = Field(default="", pattern=r"^([A-Z0-9]{2,32})?$")
    slack_enterprise_id: str = Field(default="", pattern=r"^([A-Z0-9]{2,32})?$")
    slack_approvals_channel: str = Field(default="C0APPROVALS", pattern=CHANNEL_PATTERN)
    # Where finance steps are posted; empty means the approvals channel.
    slack_finance_channel: str = Field(default="", pattern=r"^([A-Z0-9]{2,32}|#[a-z0-9_-]{1,80})?$")
    # Empty means: Slack itself in production, the built-in sandbox in development.
    slack_api_url: str = ""
    # Threads per API process for Slack clicks: this many acks, and this many decisions, at once.
    slack_listener_threads: int = Field(default=32, ge=1, le=256)

    # Production reviews with an LLM unless this is off; then humans decide everything.
    llm_review: bool = True
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = Field(default="gpt-4o-mini", min_length=1, max_length=MODEL_NAME_MAX)
    openai_timeout_seconds: float = Field(default=20.0, gt=0)
    openai_max_retries: int = Field(default=2, ge=0, le=5)
    # Ask for token log-probabilities, to measure the model's confidence. Turn off for a server
    # that refuses the parameter; the model's own number then counts at the policy's discount.
    openai_logprobs: bool = True

    policy_file: Path = DEFAULT_POLICY_FILE
    # Uploaded receipts, named by their SHA-256; empty means DATA_DIR/receipts.
    receipts_dir: Path | None = None
    # Whether the model reads receipt images (PNG, JPEG) to compare them with the claim.
    openai_vision: bool = False

    # JSON and form bodies; uploads are capped by the policy's receipt_max_bytes instead.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # In the `limits` library's syntax; shared through Redis when the broker is Redis.
    rate_limit_per_token: str = "120/minute"
    rate_limit_per_address: str = "300/minute"
    rate_limit_storage_url: str = Field(default="", repr=False)

    # Threads per worker: each mostly waits for the LLM, so many fit in one process.
    worker_concurrency: int = Field(default=128, ge=1)
    # Database connections per worker (and as many more under load); a task holds one briefly.
    worker_db_pool_size: int = Field(default=16, ge=1)
    # The worker serves Prometheus metrics on this port; 0 turns it off.
    worker_metrics_port: int = Field(default=9101, ge=0, le=65535)
    task_time_limit_seconds: int = Field(default=300, ge=10)
    broker_visibility_timeout_seconds: int = Field(default=3600, ge=60)
    stuck_after_seconds: int = Field(default=120, ge=10)
    sweep_interval_seconds: float = Field(default=60.0, ge=1)
    # How often the scheduler looks for steps to remind, escalate or expire.
    timers_tick_seconds: float = Field(default=60.0, ge=1)

    @field_validator(
        "openai_api_key", "openai_base_url", "policy_file", "receipts_dir", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: object, info: ValidationInfo) -> object:
        """`KEY=` in a .env file means "not set", not an empty value."""
        if isinstance(value, str) and not value.strip():
            return DEFAULT_POLICY_FILE if info.field_name == "policy_file" else None
        return value

    @field_validator("rate_limit_per_token", "rate_limit_per_address")
    @classmethod
    def _rate_limit_syntax(cls, value: str) -> str:
        try:
            parse_rate_limit(value)
        except ValueError:
            raise ValueError("must look like '120/minute' or '10/second'") from None
        return value

    @model_validator(mode="after")
    def _fill_defaults_and_check(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'expense-bot.db'}"
        if not self.celery_broker_url:
            self.celery_broker_url = f"sqla+sqlite:///{self.data_dir / 'celery-broker.db'}"
        if not self.rate_limit_storage_url:
            redis = self.celery_broker_url.startswith(("redis://", "rediss://"))
            self.rate_limit_storage_url = self.celery_broker_url if redis else "memory://"
        if self.task_time_limit_seconds >= self.broker_visibility_timeout_seconds:
            raise ValueError(
                "TASK_TIME_LIMIT_SECONDS must be below BROKER_VISIBILITY_TIMEOUT_SECONDS"
            )
        if self.llm_time_budget >= self.task_time_limit_seconds:
            raise ValueError(
                "OPENAI_TIMEOUT_SECONDS x (OPENAI_MAX_RETRIES + 1) plus the SDK's backoff, twice "
                f"with OPENAI_VISION ({self.llm_time_budget:.0f}s), must be below "
                "TASK_TIME_LIMIT_SECONDS"
            )
        if self.app_env is Environment.PRODUCTION:
            problems = self.production_problems()
            if problems:
                raise UnsafeConfiguration(problems)
        return self

    def production_problems(self) -> list[Problem]:
        """What production would refuse in these settings, whatever the environment is."""
        return production_problems(
            secrets={
                "SLACK_SIGNING_SECRET": self.slack_signing_secret.get_secret_value(),
                "SLACK_BOT_TOKEN": self.slack_bot_token.get_secret_value(),
                "SESSION_SECRET": self.session_secret.get_secret_value(),
            },
            openai_api_key=self.openai_api_key.get_secret_value() if self.openai_api_key else "",
            llm_review=self.llm_review,
            openai_base_url=self.openai_base_url,
            database_url=self.database_url,
            broker_url=self.celery_broker_url,
            slack_ids={"SLACK_TEAM_ID": self.slack_team_id, "SLACK_APP_ID": self.slack_app_id},
            approvals_channel=self.slack_approvals_channel,
        )

    @property
    def development(self) -> bool:
        return self.app_env is Environment.DEVELOPMENT

    @property
    def uses_sandbox(self) -> bool:
        """True in development with no Slack configured: calls go to the stand-in on this app."""
        placeholder = self.slack_bot_token.get_secret_value() == SANDBOX_BOT_TOKEN
        return self.development and not self.slack_api_url and placeholder

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
    def llm_time_budget(self) -> float:
        """The longest one evaluation's LLM calls can take: every attempt timing out, waiting
        the longest."""
        retries = self.openai_max_retries
        one_call = self.openai_timeout_seconds * (retries + 1) + SDK_MAX_BACKOFF_SECONDS * retries
        # With vision on, an expense with an uploaded image also has its receipt read.
        return one_call * (2 if self.openai_vision else 1)

    @property
    def receipts_root(self) -> Path:
        return self.receipts_dir or self.data_dir / "receipts"

    @property
    def llm_enabled(self) -> bool:
        configured = self.openai_api_key is not None or self.openai_base_url is not None
        return self.llm_review and configured


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
