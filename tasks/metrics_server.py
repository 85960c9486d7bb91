"""The worker's Prometheus endpoint: its own port, served from the worker's main process."""

import logging
from typing import Any

from celery.signals import worker_init
from prometheus_client import REGISTRY, start_http_server

from app.settings import get_settings

log = logging.getLogger(__name__)


@worker_init.connect  # type: ignore[untyped-decorator]
def _serve_metrics(**_kwargs: Any) -> None:
    port = get_settings().worker_metrics_port
    if not port:
        return
    from tasks.backlog_metrics import BacklogCollector
    from tasks.celery_app import celery_app
    from tasks.runtime import runtime

    settings = get_settings()
    REGISTRY.register(BacklogCollector(runtime().db, celery_app, settings.celery_queue))
    try:
        start_http_server(port)
    except OSError as exc:
        # Metrics are for watching the worker; a busy port must not stop it from working.
        log.warning("worker metrics not served on port %d: %s", port, exc)
