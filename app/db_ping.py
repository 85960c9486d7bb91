"""Checks a pooled connection before use only when it sat idle: busy connections skip the ping.

`pool_pre_ping` costs a round trip on every checkout, which under load is most of a request's
database time. A connection used a moment ago is as good as proven; one idle for longer may
have been dropped (a PostgreSQL restart, a proxy's idle timeout), so it is pinged, and a dead
one is replaced before the request sees it.
"""

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

IDLE_SECONDS = 5.0
_LAST_USED = "last_checkin"


def ping_idle_connections(engine: Engine, idle_seconds: float = IDLE_SECONDS) -> None:
    @event.listens_for(engine, "checkin")
    def _note_use(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_USED)
        if last is None or time.monotonic() - last < idle_seconds:
            return  # new (just connected) or busy: proven recently enough
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(str(exc)) from exc
