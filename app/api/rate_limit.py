"""Rate limits per client address (before authentication) and per API token, with `limits`."""

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import Storage as AsyncStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter as AsyncLimiter
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.problems import problem_response

log = logging.getLogger(__name__)

KEY_PREFIX = "expense-bot-limits"
# Slack's requests all come from Slack's addresses and are signed; health checks are probes;
# the development sandbox is this app's own Slack stand-in.
EXEMPT_PATHS = ("/slack/events", "/healthz", "/readyz", "/metrics", "/sandbox")


def _options(url: str) -> dict[str, str]:
    return {"key_prefix": KEY_PREFIX} if url.startswith(("redis", "async+redis")) else {}


def _retry_after(reset_at: float) -> str:
    return str(max(1, math.ceil(reset_at - time.time())))


class TooManyRequests(HTTPException):
    def __init__(self, retry_after: str) -> None:
        super().__init__(429, "Too many requests; slow down.", headers={"Retry-After": retry_after})


class TokenLimiter:
    """Checked in the authentication dependency, which runs in a worker thread."""

    def __init__(self, storage_url: str, limit: str) -> None:
        self.item: RateLimitItem = parse(limit)
        self.limiter = SlidingWindowCounterRateLimiter(
            storage_from_string(storage_url, **_options(storage_url))
        )

    def check(self, token_hash: str) -> None:
        try:
            if self.limiter.hit(self.item, "token", token_hash):
                return
            stats = self.limiter.get_window_stats(self.item, "token", token_hash)
        except Exception:  # noqa: BLE001  (a limiter outage must not become an API outage)
            log.warning("rate limit storage unavailable; request allowed", exc_info=True)
            return
        raise TooManyRequests(_retry_after(stats.reset_time))


class AddressLimit:
    """ASGI middleware: counts requests per client address before anything else reads them."""

    def __init__(self, app: ASGIApp, *, storage_url: str, limit: str) -> None:
        self.app = app
        self.item = parse(limit)
        async_url = storage_url if storage_url.startswith("async+") else f"async+{storage_url}"
        options = _options(storage_url)
        if async_url.startswith("async+redis"):
            options["implementation"] = "redispy"  # redis-py is installed already; coredis is not
        storage = storage_from_string(async_url, **options)
        assert isinstance(storage, AsyncStorage)
        self.limiter = AsyncLimiter(storage)

    async def _allowed(self, address: str) -> str | None:
        """None if allowed, else the Retry-After value."""
        try:
            if await self.limiter.hit(self.item, "address", address):
                return None
            stats = await self.limiter.get_window_stats(self.item, "address", address)
        except Exception:  # noqa: BLE001
            log.warning("rate limit storage unavailable; request allowed", exc_info=True)
            return None
        return _retry_after(stats.reset_time)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PATHS):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        retry_after = await self._allowed(client[0] if client else "unknown")
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        response = problem_response(
            429,
            "Too many requests from this address; slow down.",
            headers={"Retry-After": retry_after},
        )
        await response(scope, receive, send)
