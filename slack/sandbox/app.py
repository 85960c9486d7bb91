"""The sandbox's ASGI app: Web API endpoints, test controls and the clickable page."""

import asyncio
import json
import time
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Body, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from slack.sandbox.page import render_page
from slack.sandbox.payloads import (
    block_actions,
    dm_reply,
    home_block_actions,
    home_opened,
    signed_event,
    signed_form,
    signed_request,
    slash_command,
    view_submission,
)
from slack.sandbox.web_api import ApiError, Failure, SandboxState, WebApi, parse_args

DEFAULT_ACTOR = "U0BOB"


async def _request_args(request: Request) -> dict[str, Any]:
    # Like Slack, arguments may come in the query string (GET methods) as well as the body.
    args: dict[str, Any] = dict(request.query_params)
    if request.method == "GET":
        return args
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        return {**args, **body} if isinstance(body, dict) else args
    form = await request.form()
    return {**args, **{k: v for k, v in form.items() if isinstance(v, str)}}


def _token(request: Request, args: dict[str, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    token = args.pop("token", None)
    return str(token) if token else None


def _element(blocks: list[dict[str, Any]], block_id: str, action_id: str) -> dict[str, Any] | None:
    return next(
        (
            el
            for b in blocks
            if b.get("block_id") == block_id
            for el in b.get("elements", [])
            if el.get("action_id") == action_id
        ),
        None,
    )


def create_sandbox_app(*, bot_token: str, signing_secret: str, events_url: str) -> FastAPI:
    state = SandboxState(bot_token=bot_token)
    web_api = WebApi(state)
    sandbox = FastAPI(title="Slack sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    sandbox.state.sandbox = state

    @sandbox.api_route("/api/{method}", methods=["GET", "POST"])
    async def api_method(method: str, request: Request) -> Response:
        args = await _request_args(request)
        token = _token(request, args)
        # When and where each call came, so a test or benchmark can check the bot's pacing.
        now = time.time()
        seen = {"method": method, "channel": args.get("channel"), "at": now}
        with state.lock:
            queued = state.failures.get(method)
            failure = queued.pop(0) if queued else None
            if failure is None and method == "chat.postMessage" and args.get("channel"):
                wait = state.over_channel_limit(str(args["channel"]), now)
                if wait is not None:
                    failure = Failure(429, wait)
                    seen["over_limit"] = True
        if failure is not None and failure.delay:
            await asyncio.sleep(failure.delay)
        if failure is not None and failure.status != 200:
            state.calls.append({**seen, "ok": False, "status": failure.status})
            error = "ratelimited" if failure.status == 429 else "internal_error"
            return JSONResponse(
                {"ok": False, "error": error},
                status_code=failure.status,
                headers={"Retry-After": str(failure.retry_after)},
            )
        try:
            result = web_api.call(method, token, parse_args(args))
        except ApiError as exc:
            result = {"ok": False, "error": exc.error, **exc.extra}
        outcome = {"ok": result["ok"], "error": result.get("error"), "status": 200}
        state.calls.append({**seen, **outcome})
        return JSONResponse(result)

    @sandbox.get("/_state")
    def sandbox_state() -> dict[str, Any]:
        return state.snapshot()

    @sandbox.post("/_control/fail")
    def inject_failure(
        method: Annotated[str, Body()],
        status: Annotated[int, Body()] = 429,
        retry_after: Annotated[int, Body()] = 1,
        times: Annotated[int, Body()] = 1,
        delay: Annotated[float, Body()] = 0.0,
    ) -> dict[str, bool]:
        """Make the next `times` calls fail with `status`, or with 200 answer `delay` s late."""
        state.inject_failure(method, status, retry_after, times, delay)
        return {"ok": True}

    @sandbox.post("/_control/channel_limit")
    def channel_limit(burst: Annotated[int | None, Body(embed=True)] = None) -> dict[str, bool]:
        """Enforce Slack's per-channel posting limit (bursts of `burst`), or stop with null."""
        with state.lock:
            state.limit_channels(burst)
        return {"ok": True}

    @sandbox.post("/_control/clear")
    def clear_failures() -> dict[str, bool]:
        with state.lock:
            state.failures.clear()
            state.broken.clear()
        return {"ok": True}

    @sandbox.post("/_control/break")
    def break_channel(
        channel: Annotated[str, Body()], error: Annotated[str, Body()] = "channel_not_found"
    ) -> dict[str, bool]:
        """Make a channel (or a member, for conversations.open) answer with a permanent error."""
        with state.lock:
            state.broken[channel] = error
        return {"ok": True}

    @sandbox.post("/_control/users")
    def add_user(
        email: Annotated[str, Body()],
        user_id: Annotated[str | None, Body(alias="id")] = None,
        name: Annotated[str, Body()] = "",
    ) -> dict[str, Any]:
        """Add a workspace member, so that users.lookupByEmail finds them."""
        return {"ok": True, "user": state.add_user(email, user_id, name)}

    @sandbox.post("/_control/trigger")
    def new_trigger(user: Annotated[str, Body(embed=True)]) -> dict[str, str]:
        return {"trigger_id": state.issue_trigger(user)}

    @sandbox.post("/_control/channels")
    def add_channel(
        name: Annotated[str, Body()], channel_id: Annotated[str, Body(alias="id")]
    ) -> dict[str, bool]:
        """A channel of the workspace, for conversations.list."""
        with state.lock:
            state.channels[channel_id] = name
        return {"ok": True}

    async def send_to_bot(payload: dict[str, Any]) -> httpx.Response:
        sign = signed_event if payload.get("type") == "event_callback" else signed_request
        return await send_signed(*sign(payload, signing_secret))

    async def send_signed(body: bytes, headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(events_url, content=body, headers=headers)

    def back(actor: str, errors: dict[str, str] | None = None, tab: str = "") -> RedirectResponse:
        extra = f"&errors={quote(json.dumps(errors))}" if errors else ""
        extra += f"&tab={quote(tab)}" if tab else ""
        return RedirectResponse(f"./?as={quote(actor)}{extra}", status_code=303)

    @sandbox.get("/", response_class=HTMLResponse)
    def page(
        actor: Annotated[str, Query(alias="as")] = DEFAULT_ACTOR, errors: str = "", tab: str = ""
    ) -> str:
        return render_page(state, actor, json.loads(errors) if errors else {}, tab)

    async def settle(changed: Any) -> None:
        """The bot answers right after acking; give it a moment so the page shows the result."""
        for _ in range(20):
            if changed():
                return
            await asyncio.sleep(0.05)

    @sandbox.post("/ui/home")
    async def open_home(actor: Annotated[str, Form(alias="as")]) -> Response:
        before = state.homes.get(actor)
        await send_to_bot(home_opened(user_id=actor))
        await settle(lambda: state.homes.get(actor) is not before)
        return back(actor, tab="home")

    @sandbox.post("/ui/home_click")
    async def home_click(
        block_id: Annotated[str, Form()],
        action_id: Annotated[str, Form()],
        actor: Annotated[str, Form(alias="as")],
    ) -> Response:
        view = state.homes.get(actor)
        element = None if view is None else _element(view["blocks"], block_id, action_id)
        if view is None or element is None:
            return back(actor, tab="home")
        views_before, home_before = len(state.views), view
        await send_to_bot(
            home_block_actions(
                user_id=actor,
                view=view,
                action=element,
                block_id=block_id,
                trigger_id=state.issue_trigger(actor),
            )
        )
        await settle(
            lambda: len(state.views) > views_before or state.homes.get(actor) is not home_before
        )
        return back(actor, tab="home")

    @sandbox.post("/ui/reply")
    async def reply(
        channel: Annotated[str, Form()],
        thread_ts: Annotated[str, Form()],
        text: Annotated[str, Form()],
        actor: Annotated[str, Form(alias="as")],
    ) -> Response:
        """The person writes in a DM thread: it is shown, and sent to the bot as Slack would."""
        with state.lock:
            ts = state.next_ts()
            state.messages.append(
                {
                    "type": "message",
                    "user": actor,
                    "channel": channel,
                    "ts": ts,
                    "text": text,
                    "blocks": [],
                    "thread_ts": thread_ts,
                    "metadata": None,
                }
            )
        await send_to_bot(
            dm_reply(user_id=actor, channel=channel, thread_ts=thread_ts, text=text, ts=ts)
        )
        return back(actor)

    @sandbox.post("/ui/click")
    async def click(
        channel: Annotated[str, Form()],
        ts: Annotated[str, Form()],
        block_id: Annotated[str, Form()],
        action_id: Annotated[str, Form()],
        actor: Annotated[str, Form(alias="as")],
    ) -> Response:
        with state.lock:
            message = next(
                (m for m in state.messages if m["channel"] == channel and m["ts"] == ts), None
            )
        if message is None:
            return back(actor)
        element = _element(message["blocks"], block_id, action_id)
        if element is None:
            return back(actor)
        views_before = len(state.views)
        await send_to_bot(
            block_actions(
                user_id=actor,
                channel=channel,
                message=message,
                action=element,
                block_id=block_id,
                trigger_id=state.issue_trigger(actor),
            )
        )
        await settle(lambda: len(state.views) > views_before or state.ephemerals)
        return back(actor)

    @sandbox.post("/ui/submit")
    async def submit(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        actor = form.pop("as", DEFAULT_ACTOR)
        entry = state.views.get(form.pop("view_id", ""))
        if entry is None or not entry["open"]:
            return back(actor)
        values: dict[str, dict[str, str]] = {}
        for key, value in form.items():
            block_id, _, action_id = key.partition("|")
            values.setdefault(block_id, {})[action_id] = value
        response = await send_to_bot(
            view_submission(
                user_id=actor,
                view=entry["view"],
                values=values,
                trigger_id=state.issue_trigger(actor),
            )
        )
        answer = response.json() if response.content else {}
        if answer.get("response_action") == "errors":
            return back(actor, answer.get("errors", {}))
        entry["open"] = False
        return back(actor)

    @sandbox.post("/ui/command")
    async def command(
        name: Annotated[str, Form(alias="command")],
        actor: Annotated[str, Form(alias="as")],
        text: Annotated[str, Form()] = "",
    ) -> Response:
        """A slash command typed in the actor's DM with the bot; `<@U…>` mentions as Slack
        escapes them."""
        before = len(state.ephemerals)
        fields = slash_command(user_id=actor, command=name, text=text, channel="D" + actor[1:])
        await send_signed(*signed_form(fields, signing_secret))
        for _ in range(20):  # the answer comes after the ack; show it on the next page
            if len(state.ephemerals) > before:
                break
            await asyncio.sleep(0.05)
        return back(actor)

    @sandbox.post("/ui/close")
    def close(view_id: Annotated[str, Form()], actor: Annotated[str, Form(alias="as")]) -> Response:
        if view_id in state.views:
            state.views[view_id]["open"] = False
        return back(actor)

    return sandbox
