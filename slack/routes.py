"""The FastAPI route that hands Slack's requests to Bolt, after checking they are Slack's."""

import re

from fastapi import APIRouter, Request, Response
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from slack.envelope import check_envelope

TIMESTAMP = re.compile(r"[0-9]{1,12}")
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def _signed(verifier: SignatureVerifier, body: bytes, timestamp: str, signature: str) -> bool:
    try:
        return verifier.is_valid(body, timestamp, signature)
    except UnicodeDecodeError:  # the SDK signs text; bytes that are not UTF-8 were not signed
        return False


def slack_router(bolt: App, signing_secret: str) -> APIRouter:
    router = APIRouter()
    verifier = SignatureVerifier(signing_secret)

    @router.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        # Bolt checks the signature too, but it assumes well-formed headers; anything that is
        # not exactly Slack's shape, or not signed with our secret inside 5 minutes, stops here.
        if not (TIMESTAMP.fullmatch(timestamp) and SIGNATURE.fullmatch(signature)):
            raise HTTPException(401, "missing or malformed Slack signature headers")
        if not _signed(verifier, body, timestamp, signature):
            raise HTTPException(401, "invalid or expired Slack signature")
        try:
            check_envelope(body, request.headers.get("content-type", ""))
            bolt_request = to_bolt_request(request, body)
        except Exception:  # noqa: BLE001  (signed but not Slack's shape: Slack never sends that)
            raise HTTPException(400, "the request body is not a Slack payload") from None
        # Bolt's FastAPI adapter calls the sync App on the event loop; we use its request and
        # response conversion but dispatch in a worker thread so one slow click blocks no other.
        bolt_response = await run_in_threadpool(bolt.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    return router
