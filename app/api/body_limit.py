"""Refuses request bodies over their limit with 413, without reading past the limit."""

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem_response

# Slack's interactivity payloads carry the whole message they came from.
SLACK_MAX_BODY_BYTES = 1024 * 1024
SLACK_PATH = "/slack/events"
# Room for a multipart body's boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 16 * 1024


class BodyTooLarge(HTTPException):
    """Raised from `receive`; FastAPI lets HTTPExceptions from reading the body through as is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: Callable[[], int]) -> None:
        self.app = app
        self.max_body = max_body
        # Asked per request: the policy sets it and may change while the app runs.
        self.max_upload = max_upload

    def _limit(self, scope: Scope, headers: Headers) -> int:
        if scope["path"] == SLACK_PATH:
            return SLACK_MAX_BODY_BYTES
        if headers.get("content-type", "").startswith("multipart/form-data"):
            return self.max_upload() + MULTIPART_OVERHEAD_BYTES
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self._limit(scope, headers)
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            # Answer from the header alone; the body is never read.
            response = problem_response(413, str(BodyTooLarge(limit).detail))
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)
