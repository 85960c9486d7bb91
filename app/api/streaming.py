"""A streamed response that stops its source as soon as the download ends, however it ends."""

from collections.abc import Generator, Iterator
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


def _starting_with(first: bytes, rest: Iterator[bytes]) -> Generator[bytes]:
    try:
        yield first
        yield from rest
    finally:
        close = getattr(rest, "close", None)
        if close is not None:
            close()


class ClosingStreamingResponse(StreamingResponse):
    """Starlette leaves a sync iterator to the garbage collector when the client hangs up, so an
    abandoned export's query would run on until a collection happens to free it. This closes it
    when the response is over: the export's `finally` stops its query and frees its connection.
    """

    def __init__(self, first: bytes, rest: Iterator[bytes], **kwargs: Any) -> None:
        self._source = _starting_with(first, rest)
        super().__init__(self._source, **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Shielded: a cancelled response (the client went away) must still release its query.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._source.close)
