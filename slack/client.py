"""The outgoing Slack Web API client, retrying rate limits, 5xx and dropped connections, metered."""

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.slack_response import SlackResponse

from app.metrics import SLACK_CALLS, SLACK_RATE_LIMITED
from app.settings import Settings


def _method(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class CountedRateLimitRetry(RateLimitErrorRetryHandler):
    """Honours Retry-After like the SDK's, and counts each 429 it retries.

    Not for chat.postMessage: a post retried in here would skip the channel's pacing and land
    on top of the next one. Its 429 goes back to the outbox, which pauses the channel and
    books the post a fresh turn (slack/delivery.py).
    """

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if _method(request.url) == "chat.postMessage":
            return False
        retry = super()._can_retry(state=state, request=request, response=response, error=error)
        if retry:
            SLACK_RATE_LIMITED.labels(_method(request.url)).inc()
        return retry


class MeteredWebClient(WebClient):
    """Counts every call by method and outcome: ok, error, or rate limited (not retried)."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                SLACK_RATE_LIMITED.labels(api_method).inc()
                SLACK_CALLS.labels(api_method, "rate_limited").inc()
            else:
                SLACK_CALLS.labels(api_method, "error").inc()
            raise
        except Exception:
            SLACK_CALLS.labels(api_method, "error").inc()
            raise
        SLACK_CALLS.labels(api_method, "ok").inc()
        return response


def make_web_client(settings: Settings) -> WebClient:
    return MeteredWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.effective_slack_api_url,
        timeout=10,
        retry_handlers=[
            # Honours Retry-After; a longer wait is left to the Celery retry with a countdown.
            CountedRateLimitRetry(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )
