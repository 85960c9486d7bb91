"""Builds the FastAPI app: the HTTP API, the Slack route and, in development, the sandbox."""

from fastapi import FastAPI

from app.api import audit, errors, expenses
from app.db import Database, JobSender
from app.settings import Settings, get_settings
from slack.bolt import build_bolt_app
from slack.client import make_web_client
from slack.routes import slack_router


def create_app(settings: Settings | None = None, job_sender: JobSender | None = None) -> FastAPI:
    settings = settings or get_settings()
    if job_sender is None:
        from tasks.celery_app import send_jobs

        job_sender = send_jobs
    db = Database(settings.database_url, job_sender=job_sender)
    api = FastAPI(title="Expense approval bot", version="0.1.0")
    api.state.settings = settings
    api.state.db = db
    errors.install(api)
    api.include_router(expenses.router)
    api.include_router(audit.router)
    bolt = build_bolt_app(settings, db, make_web_client(settings))
    api.include_router(slack_router(bolt))
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

    @api.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return api
