"""The outgoing Slack Web API client, retrying rate limits, 5xx and dropped connections."""

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from app.settings import Settings


def make_web_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.effective_slack_api_url,
        timeout=10,
        retry_handlers=[
            # Honours Retry-After; a longer wait is left to the Celery retry with a countdown.
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )
