"""Builds the FastAPI app: the HTTP API, the Slack route and, in development, the sandbox."""

from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.api import (
    admin,
    admin_deliveries,
    audit,
    audit_reports,
    conversation,
    errors,
    expenses,
    health,
    receipts,
)
from app.api.body_limit import BodyLimit
from app.api.http_metrics import HttpMetrics
from app.api.problems import add_problem_schemas
from app.api.rate_limit import AddressLimit, TokenLimiter
from app.db import Database, JobSender
from app.job_relay import JobRelay
from app.logs import configure_logging
from app.policy_loader import load_policy
from app.settings import Settings, get_settings
from app.web import pages
from slack.bolt import build_bolt_app
from slack.client import make_web_client
from slack.routes import slack_router


def _install_openapi(api: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(title=api.title, version=api.version, routes=api.routes)
            api.openapi_schema = add_problem_schemas(schema)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, job_sender: JobSender | None = None) -> FastAPI:
    settings = settings or get_settings()
    if job_sender is None:
        from tasks.celery_app import send_jobs

        # Requests hand their jobs over and answer; the relay sends them in batches.
        job_sender = JobRelay(send_jobs)
    db = Database(settings.database_url, job_sender=job_sender)
    dev = settings.development
    # Interactive docs and the schema are a development convenience, not a production surface.
    api = FastAPI(
        title="Expense approval bot",
        version="0.1.0",
        docs_url="/docs" if dev else None,
        redoc_url="/redoc" if dev else None,
        openapi_url="/openapi.json" if dev else None,
    )
    _install_openapi(api)
    api.state.settings = settings
    api.state.db = db
    api.state.token_limiter = TokenLimiter(
        settings.rate_limit_storage_url, settings.rate_limit_per_token
    )
    errors.install(api)
    # Added innermost first: a request meets the request id, then metrics, then the address
    # limit, then the body limit.
    policy_file = settings.policy_file
    api.add_middleware(
        BodyLimit,
        max_body=settings.max_body_bytes,
        max_upload=lambda: load_policy(policy_file).receipt_max_bytes,
    )
    api.add_middleware(
        AddressLimit,
        storage_url=settings.rate_limit_storage_url,
        limit=settings.rate_limit_per_address,
    )
    api.add_middleware(HttpMetrics)
    api.add_middleware(CorrelationIdMiddleware)
    api.include_router(health.router)
    api.include_router(expenses.router)
    api.include_router(conversation.router)
    api.include_router(receipts.router)
    api.include_router(audit.router)
    api.include_router(admin.router)
    api.include_router(admin_deliveries.router)
    api.include_router(audit_reports.router)
    pages.install(api, settings)
    bolt = build_bolt_app(settings, db, make_web_client(settings))
    api.include_router(slack_router(bolt, settings.slack_signing_secret.get_secret_value()))
    if settings.uses_sandbox:
        from slack.sandbox.app import create_sandbox_app

        api.mount(
            "/sandbox",
            create_sandbox_app(
                bot_token=settings.slack_bot_token.get_secret_value(),
                signing_secret=settings.slack_signing_secret.get_secret_value(),
                events_url=f"{settings.public_base_url.rstrip('/')}/slack/events",
            ),
        )

    return api


def app_for_server() -> FastAPI:
    """The factory `expense-bot api` gives uvicorn: each server process logs as configured."""
    settings = get_settings()
    configure_logging(settings)
    return create_app(settings)
