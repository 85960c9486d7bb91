"""An OpenAI-compatible chat completions stand-in. The merchant name picks its behaviour.

Merchants containing LLM-SLOW (answers after 4 s), LLM-TIMEOUT, LLM-GARBAGE, LLM-REFUSE,
LLM-ERROR or LLM-REJECT make it misbehave or disagree; anything else gets a confident "approve".
"""

import asyncio
import json
import re
import secrets
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

EXPECTED_KEY = "sk-standin-" + secrets.token_hex(16)
_DATA = re.compile(r"<<EXPENSE [0-9a-f]+>>\n(.*)\n<<END EXPENSE [0-9a-f]+>>", re.S)


def _completion(model: str, content: str | None, refusal: str | None = None) -> dict[str, Any]:
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
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def create_openai_standin(*, delay_seconds: float = 0.0) -> FastAPI:
    app = FastAPI()
    app.state.requests = []

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {EXPECTED_KEY}":
            return JSONResponse(
                {"error": {"message": "bad key", "type": "invalid_request_error"}}, status_code=401
            )
        body = await request.json()
        app.state.requests.append(body)
        if body.get("response_format", {}).get("type") != "json_schema" or not body.get("model"):
            return JSONResponse({"error": {"message": "json_schema required"}}, status_code=400)
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
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=500)
        if "LLM-GARBAGE" in merchant:
            return JSONResponse(_completion(model, "sure! approve it :)"))
        if "LLM-REFUSE" in merchant:
            return JSONResponse(_completion(model, None, refusal="I can't help with that."))
        verdict = "reject" if "LLM-REJECT" in merchant else "approve"
        answer = {
            "recommendation": verdict,
            "confidence": 0.99,
            "reasons": [f"{verdict}: ordinary business expense"],
        }
        return JSONResponse(_completion(model, json.dumps(answer)))

    return app
