"""Environment for running the real processes as production: every secret strong and random."""

import secrets

from sqlalchemy.engine import make_url

from bench.standins.server import free_port
from slack.sandbox.payloads import APP_ID, TEAM


def with_password(database_url: str) -> str:
    """The local PostgreSQL trusts loopback; a random password satisfies production's check."""
    url = make_url(database_url).set(password=secrets.token_urlsafe(18))
    return url.render_as_string(hide_password=False)


def production_env(
    *, database_url: str, broker_url: str, slack_api_url: str, bot_token: str, signing_secret: str
) -> dict[str, str]:
    return {
        "APP_ENV": "production",
        "DATABASE_URL": with_password(database_url),
        "CELERY_BROKER_URL": broker_url,
        "SLACK_API_URL": slack_api_url,
        "SLACK_BOT_TOKEN": bot_token,
        "SLACK_SIGNING_SECRET": signing_secret,
        # The sandbox signs its payloads as this workspace and app.
        "SLACK_TEAM_ID": TEAM["id"],
        "SLACK_APP_ID": APP_ID,
        "SLACK_APPROVALS_CHANNEL": "C0CARDS",
        "SESSION_SECRET": secrets.token_urlsafe(48),
        # The limiter is on, set far above what a test or benchmark sends, so its cost counts.
        "RATE_LIMIT_PER_TOKEN": "1000000/minute",
        "RATE_LIMIT_PER_ADDRESS": "1000000/minute",
        # Several workers may run at once in tests: each serves metrics on a port of its own.
        "WORKER_METRICS_PORT": str(free_port()),
    }
