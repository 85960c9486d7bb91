"""An OpenAI-compatible chat completions stand-in. The merchant name picks its behaviour.

Merchants containing LLM-SLOW (answers after 4 s), LLM-TIMEOUT, LLM-GARBAGE, LLM-REFUSE,
LLM-ERROR (500, asking for a long Retry-After), LLM-NOTJSON or LLM-WRONGSHAPE (a 200 whose body
is not a completion) or LLM-REJECT make it misbehave or disagree;
anything else gets a confident "approve". Asked for logprobs, it returns them, putting 0.99 on
its recommendation; LLM-UNSURE puts 0.6 there (while still writing 0.99), LLM-NOLOGPROBS
returns none, like a server without them.

Asked to read a receipt image (the `receipt_figures` schema), it cannot read pixels: it answers
with the JSON a test wrote after RECEIPT-FIGURES: in the image's bytes, or all nulls.
"""

import asyncio
import base64
import binascii
import json
import math
import re
import secrets
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

EXPECTED_KEY = "sk-standin-" + secrets.token_hex(16)
_DATA = re.compile(r"<<EXPENSE [0-9a-f]+>>\n(.*)\n<<END EXPENSE [0-9a-f]+>>", re.S)
RECEIPT_FIGURES_MARKER = b"RECEIPT-FIGURES:"
UNREADABLE = {"total": None, "currency": None, "date": None, "merchant": None}


def _receipt_figures(body: dict[str, Any]) -> dict[str, Any] | None:
    """The figures embedded in the request's image, all nulls if none; None if no image."""
    for part in body["messages"][-1].get("content", []):
        if not isinstance(part, dict) or part.get("type") != "image_url":
            continue
        url = part["image_url"]["url"]
        try:
            image = base64.b64decode(url.split(",", 1)[1], validate=True)
        except (IndexError, binascii.Error):
            return None
        _, marker, figures = image.partition(RECEIPT_FIGURES_MARKER)
        return dict(json.loads(figures)) if marker else dict(UNREADABLE)
    return None


def _logprobs(content: str, recommendation_probability: float) -> dict[str, Any]:
    """Tokens of up to 4 characters; those of the recommendation share its probability."""
    tokens = re.findall(r"\w{1,4}|\W", content)
    value = content.index('"', content.index(":") + 1) + 1
    end = content.index('"', value)
    spans, position = [], 0
    for token in tokens:
        spans.append((position, position + len(token)))
        position += len(token)
    inside = [start < end and stop > value for start, stop in spans]
    share = math.log(recommendation_probability) / sum(inside)
    return {
        "content": [
            {
                "token": t,
                "logprob": share if hit else -0.0001,
                "bytes": list(t.encode()),
                "top_logprobs": [],
            }
            for t, hit in zip(tokens, inside, strict=True)
        ],
        "refusal": None,
    }


def _completion(
    model: str,
    content: str | None,
    refusal: str | None = None,
    logprobs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "logprobs": logprobs,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def create_openai_standin(*, delay_seconds: float = 0.0) -> FastAPI:
    app = FastAPI()
    app.state.requests = []

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {EXPECTED_KEY}":
            return JSONResponse(
                {"error": {"message": "bad key", "type": "invalid_request_error"}}, status_code=401
            )
        body = await request.json()
        app.state.requests.append(body)
        response_format = body.get("response_format", {})
        if response_format.get("type") != "json_schema" or not body.get("model"):
            return JSONResponse({"error": {"message": "json_schema required"}}, status_code=400)
        if response_format["json_schema"]["name"] == "receipt_figures":
            figures = _receipt_figures(body)
            if figures is None:
                return JSONResponse({"error": {"message": "no image"}}, status_code=400)
            return JSONResponse(_completion(body["model"], json.dumps(figures)))
        match = _DATA.search(body["messages"][-1]["content"])
        if match is None:
            return JSONResponse({"error": {"message": "no delimited expense"}}, status_code=400)
        merchant = json.loads(match.group(1))["merchant"]
        model = body["model"]
        if delay_seconds:
            await asyncio.sleep(delay_seconds)
        if "LLM-SLOW" in merchant:
            await asyncio.sleep(4)
        if "LLM-TIMEOUT" in merchant:
            await asyncio.sleep(5)
        if "LLM-ERROR" in merchant:
            return JSONResponse(
                {"error": {"message": "overloaded"}},
                status_code=500,
                headers={"retry-after": "100"},
            )
        if "LLM-GARBAGE" in merchant:
            return JSONResponse(_completion(model, "sure! approve it :)"))
        if "LLM-REFUSE" in merchant:
            return JSONResponse(_completion(model, None, refusal="I can't help with that."))
        if "LLM-NOTJSON" in merchant:
            return PlainTextResponse("<html>502 Bad Gateway</html>", media_type="application/json")
        if "LLM-WRONGSHAPE" in merchant:
            return JSONResponse({"id": "x", "model": model, "choices": [{"message": "approve"}]})
        verdict = "reject" if "LLM-REJECT" in merchant else "approve"
        answer = {
            "recommendation": verdict,
            "confidence": 0.99,
            "reasons": [f"[limits] {verdict}: ordinary business expense"],
        }
        content = json.dumps(answer)
        logprobs = None
        if body.get("logprobs") and "LLM-NOLOGPROBS" not in merchant:
            logprobs = _logprobs(content, 0.6 if "LLM-UNSURE" in merchant else 0.99)
        return JSONResponse(_completion(model, content, logprobs=logprobs))

    return app
