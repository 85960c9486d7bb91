"""Liveness at /healthz touches nothing; readiness at /readyz asks the database and the broker."""

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from kombu.connection import Connection
from sqlalchemy import text

from app.api.problems import problem_response
from app.db import Database
from app.metrics import exposition
from app.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
PROBE_TIMEOUT_SECONDS = 2.0


def _database_ok(db: Database) -> bool:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001  (any failure means: not ready)
        log.warning("readiness: database unreachable", exc_info=True)
        return False


def _broker_ok(url: str) -> bool:
    try:
        with Connection(url, connect_timeout=PROBE_TIMEOUT_SECONDS) as conn:  # type: ignore[no-untyped-call]
            conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)
        return True
    except Exception:  # noqa: BLE001
        log.warning("readiness: broker unreachable", exc_info=True)
        return False


@router.get("/metrics")
def metrics() -> Response:
    """Prometheus' scrape target; keep it on the internal network (see README)."""
    body, media_type = exposition()
    return Response(body, media_type=media_type)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> JSONResponse | dict[str, str]:
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    broken = [
        name
        for name, ok in (
            ("database", _database_ok(db)),
            ("broker", _broker_ok(settings.celery_broker_url)),
        )
        if not ok
    ]
    if broken:
        return problem_response(
            503, f"not ready: {', '.join(broken)} unreachable", headers={"Retry-After": "5"}
        )
    return {"status": "ready"}
