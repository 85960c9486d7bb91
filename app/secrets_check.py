"""What production refuses: empty, example and placeholder secrets, and development-only parts."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Values published as examples: ours in .env.example, Slack's and OpenAI's documentation.
# tests/test_secrets_check.py proves every secret in .env.example is refused.
KNOWN_EXAMPLES = frozenset(
    {
        "xoxb-your-bot-token",
        "your-signing-secret",
        "sk-your-key",
        "change-me",
        "xoxb-sandbox-token",
        "sandbox-signing-secret",
        # api.slack.com's examples of a signing secret and of bot tokens
        "8f742231b10e8888abcd99yyyzzz85a5",
        "xoxb-17653672481-19874698323-pdfzkvetue8sk7oobrzbqgy",
        "xoxb-1234-56789-abcdefghijklmnop",
        "xoxb-1234567890-1234567890123-abcdefghijklmnopqrstuvwx",
        "xoxb-xxxxxxxxxxxx-xxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx",
        # platform.openai.com's placeholders
        "sk-...",
        "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "sk-proj-...",
        "your-api-key",
        "$openai_api_key",
    }
)
# Words that mark a value someone meant to replace. Matched as whole words (split at anything
# but letters and digits), so a random secret that happens to contain "todo" is not refused.
PLACEHOLDER_WORDS = frozenset(
    {
        "change",
        "changeme",
        "placeholder",
        "your",
        "example",
        "sandbox",
        "dummy",
        "replace",
        "secret",
        "password",
        "todo",
        "fixme",
    }
)
WORD_SPLIT = re.compile(r"[^a-z0-9]+")
FILLER = re.compile(r"x{4,}")
# The channel ids of our own examples and of the development default.
EXAMPLE_CHANNELS = frozenset({"C0APPROVALS", "C0123456789"})
MIN_LENGTH = {"SLACK_SIGNING_SECRET": 20, "SESSION_SECRET": 32, "database password": 12}
MIN_DISTINCT_CHARACTERS = 6
HOW_TO_GENERATE = {
    "SESSION_SECRET": (
        "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    ),
    "SLACK_SIGNING_SECRET": "copy it from your Slack app's Basic Information page",
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-...) from OAuth & Permissions",
}


@dataclass(frozen=True, slots=True)
class Problem:
    setting: str
    message: str


def weakness(value: str, *, min_length: int = 16) -> str | None:
    """Why `value` is not a real secret, or None. Never includes the value itself."""
    if not value.strip():
        return "is empty"
    lowered = value.strip().lower()
    if lowered in KNOWN_EXAMPLES:
        return "is a published example value"
    words = WORD_SPLIT.split(lowered)
    if any(mark in lowered for mark in ("<", "...")) or any(
        w in PLACEHOLDER_WORDS or FILLER.fullmatch(w) for w in words
    ):
        return "looks like a placeholder"
    if len(value) < min_length:
        return f"is shorter than {min_length} characters"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return "is too repetitive to be a secret"
    return None


def _secret_problems(secrets: Mapping[str, str]) -> list[Problem]:
    problems = []
    for name, value in secrets.items():
        reason = weakness(value, min_length=MIN_LENGTH.get(name, 16))
        if reason is not None:
            hint = HOW_TO_GENERATE.get(name)
            problems.append(Problem(name, f"{reason}; {hint}" if hint else reason))
        elif name == "SLACK_BOT_TOKEN" and not value.startswith("xoxb-"):
            problems.append(Problem(name, "must be a bot token starting with xoxb-"))
    return problems


def _llm_problems(api_key: str, *, llm_review: bool, base_url: str | None) -> list[Problem]:
    if not llm_review:
        return []
    if not api_key and base_url is None:
        return [
            Problem(
                "OPENAI_API_KEY",
                "is empty; set it, or OPENAI_BASE_URL for a self-hosted model, "
                "or LLM_REVIEW=false to let humans decide everything",
            )
        ]
    reason = weakness(api_key, min_length=20) if api_key else None
    return [Problem("OPENAI_API_KEY", reason)] if reason else []


def _database_problems(url: str) -> list[Problem]:
    if url.startswith("sqlite"):
        return [Problem("DATABASE_URL", "must point at PostgreSQL in production, not SQLite")]
    try:
        parsed = make_url(url)
    except ArgumentError:
        return [Problem("DATABASE_URL", "is not a database URL")]
    host = parsed.host or str(parsed.query.get("host", ""))
    if not host or host.startswith("/"):
        return []  # a Unix socket: peer authentication, no password to check
    reason = weakness(parsed.password or "", min_length=MIN_LENGTH["database password"])
    return [Problem("DATABASE_URL", f"its password {reason}")] if reason else []


def production_problems(
    *,
    secrets: Mapping[str, str],
    openai_api_key: str,
    llm_review: bool,
    openai_base_url: str | None,
    database_url: str,
    broker_url: str,
    slack_ids: Mapping[str, str],
    approvals_channel: str,
) -> list[Problem]:
    problems = _secret_problems(secrets)
    problems += _llm_problems(openai_api_key, llm_review=llm_review, base_url=openai_base_url)
    problems += _database_problems(database_url)
    if broker_url.startswith("sqla+"):
        problems.append(Problem("CELERY_BROKER_URL", "must point at Redis or RabbitMQ"))
    problems += [
        Problem(name, "is required in production: requests from other workspaces are refused")
        for name, value in slack_ids.items()
        if not value
    ]
    if approvals_channel in EXAMPLE_CHANNELS:
        problems.append(
            Problem("SLACK_APPROVALS_CHANNEL", "is an example id; set your approvals channel's id")
        )
    return problems


def masked_url(url: str) -> str:
    """A database or broker URL fit to print: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        # Not SQLAlchemy's form (e.g. amqp://): hide everything between :// and @.
        scheme, sep, rest = url.partition("://")
        return f"{scheme}{sep}***@{rest.rpartition('@')[2]}" if "@" in rest else url
