"""Counts and times every answer by route template; intake answers also by outcome."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import HTTP_REQUESTS, HTTP_SECONDS, INTAKE, INTAKE_SECONDS

INTAKE_ROUTE = ("POST", "/expenses")


def intake_outcome(status: int, state: dict[str, object]) -> str:
    if status == 202:
        return str(state.get("intake_outcome", "accepted"))
    if status in (409, 413, 429, 503):
        return {409: "conflict", 413: "too_large", 429: "rate_limited", 503: "unavailable"}[status]
    return "refused" if status < 500 else "error"


class HttpMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(elapsed)
            if (method, route) == INTAKE_ROUTE:
                outcome = intake_outcome(status, scope.get("state", {}))
                INTAKE.labels(outcome).inc()
                INTAKE_SECONDS.labels(outcome).observe(elapsed)
