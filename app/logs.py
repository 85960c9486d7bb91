"""Structured logs: JSON lines in production, readable lines in development; never a secret.

Our modules log with the standard library; structlog renders every record, ours and the
libraries' (uvicorn, Celery, SQLAlchemy), with the request, expense and task ids in context.
"""

import logging
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import structlog
from asgi_correlation_id import correlation_id
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from structlog.types import EventDict, Processor

from app.settings import Settings

REDACTED = "***"
# Loggers that install handlers of their own; ours on the root logger render them instead.
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "celery", "kombu")


def bind(**ids: object) -> None:
    """Add ids (expense_id, task_id, ...) to every line logged from here in this context."""
    structlog.contextvars.bind_contextvars(**{k: str(v) for k, v in ids.items()})


def unbind_all() -> None:
    structlog.contextvars.clear_contextvars()


def _request_id(_logger: object, _name: str, event: EventDict) -> EventDict:
    request_id = correlation_id.get()
    if request_id:
        event.setdefault("request_id", request_id)
    return event


def _url_password(url: str) -> str | None:
    try:
        return make_url(url).password if url else None
    except ArgumentError:
        return None


def secret_values(settings: Settings) -> list[str]:
    """Every secret the process holds, to be masked wherever it might appear."""
    values = [
        settings.slack_signing_secret.get_secret_value(),
        settings.slack_bot_token.get_secret_value(),
        settings.session_secret.get_secret_value(),
        settings.openai_api_key.get_secret_value() if settings.openai_api_key else "",
        _url_password(settings.database_url) or "",
        _url_password(settings.celery_broker_url) or "",
        _url_password(settings.rate_limit_storage_url) or "",
    ]
    # Short values would mask ordinary words; real secrets are long (production checks that).
    return sorted({v for v in values if len(v) >= 8}, key=len, reverse=True)


class Redact:
    """Masks the process's own secrets in every string of a log line: a last line of defence."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = list(secrets)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
        return value

    def __call__(
        self, _logger: object, _name: str, event: MutableMapping[str, Any]
    ) -> Mapping[str, Any]:
        for key, value in event.items():
            event[key] = self._clean(value)
        return event


def configure_logging(settings: Settings, *, level: int = logging.INFO) -> None:
    """Route every logger through one handler that renders structured lines."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if settings.development
        else structlog.processors.JSONRenderer()
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            Redact(secret_values(settings)),
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
        logger.setLevel(logging.NOTSET)  # the root's level decides
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
