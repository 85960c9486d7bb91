"""Per-process resources for tasks: the database, the Slack client and the LLM reviewer."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from celery.signals import worker_process_init
from slack_sdk import WebClient

from app.db import Database
from app.llm.reviewer import Reviewer, make_reviewer
from app.receipt_links import ReceiptLinks
from app.receipt_store import ReceiptStore
from app.settings import Settings, get_settings
from slack.client import make_web_client
from tasks.celery_app import send_jobs


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    db: Database
    slack: WebClient
    reviewer: Reviewer
    # Runs a batch's evaluations side by side: as many threads as the worker has, since each
    # mostly waits on the LLM. Threads start only when first used (never in a prefork parent).
    evaluations: ThreadPoolExecutor

    @property
    def links(self) -> ReceiptLinks:
        return ReceiptLinks(self.settings)

    @property
    def receipts(self) -> ReceiptStore:
        return ReceiptStore(self.settings.receipts_root)


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    settings = get_settings()
    return Runtime(
        settings=settings,
        db=Database(
            settings.database_url, job_sender=send_jobs, pool_size=settings.worker_db_pool_size
        ),
        slack=make_web_client(settings),
        reviewer=make_reviewer(settings),
        evaluations=ThreadPoolExecutor(settings.worker_concurrency, "evaluation"),
    )


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _forget_parents_connections(**_kwargs: Any) -> None:
    """A prefork child must not share the parent's database sockets (SQLAlchemy's advice)."""
    if runtime.cache_info().currsize:
        runtime().db.engine.dispose(close=False)
