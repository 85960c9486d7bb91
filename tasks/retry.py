"""Task retries: Slack 429 honours Retry-After; 5xx, lost connections, database outages back off."""

from typing import Any, NoReturn
from urllib.error import URLError

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError

from slack.delivery import DeliveryBusy
from slack.pacing import PaceLater


class NotReadyYet(Exception):
    """Work this task depends on has not landed yet (e.g. the card's ts is not stored)."""


def backoff(retries: int, base: float = 2.0, cap: float = 300.0) -> float:
    return float(min(cap, base * (2**retries)))


def retry_or_raise(task: Any, exc: Exception) -> NoReturn:
    """Raise the Celery retry suited to `exc`, or re-raise it when retrying cannot help."""
    retries = int(task.request.retries)
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        if status == 429:
            countdown = float(exc.response.headers.get("Retry-After", "1") or 1)
        elif status >= 500:
            countdown = backoff(retries)
        else:
            raise exc  # invalid_blocks, invalid_auth, channel_not_found: retrying cannot fix it
    elif isinstance(exc, PaceLater):
        countdown = exc.retry_in
    elif isinstance(exc, DeliveryBusy | NotReadyYet):
        countdown = min(30.0, 1.0 + retries)
    elif isinstance(exc, URLError | TimeoutError | ConnectionError | OperationalError):
        # OperationalError: the database is restarting or out of reach; it comes back by itself.
        countdown = backoff(retries)
    else:
        raise exc
    raise task.retry(exc=exc, countdown=countdown)
