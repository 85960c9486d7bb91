"""Renders the sandbox page: channels, cards with working buttons, ephemerals and open modals."""

import html
import re
from typing import Any

from slack.sandbox.web_api import SandboxState

_MENTION = re.compile(r"<@(U[A-Z0-9_]+)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")
STYLE = """body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#1d1c1d}
.msg{border:1px solid #ddd;border-radius:8px;padding:12px;margin:12px 0}
.ctx{color:#616061;font-size:90%}.eph{background:#f4ede4}.modal{border:2px solid #1264a3;
padding:16px;border-radius:8px;background:#f8f8ff}.err{color:#b00}
button{margin-right:6px;padding:6px 12px;border-radius:4px;border:1px solid #aaa;cursor:pointer}
.primary{background:#007a5a;color:#fff}.danger{background:#e01e5a;color:#fff}
pre{white-space:pre-wrap;font-family:inherit;margin:4px 0}.thread{margin-left:2em}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 24px}"""


def mrkdwn_html(text: str) -> str:
    """Show Slack text as Slack would: undo Slack's escapes, then escape for HTML."""
    shown = _MENTION.sub(r"@\1", text)
    shown = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return "<pre>" + _BOLD.sub(r"<b>\1</b>", html.escape(shown)) + "</pre>"


def _text_of(obj: dict[str, Any] | None) -> str:
    return mrkdwn_html(str((obj or {}).get("text", "")))


def _button_form(
    message: dict[str, Any], block: dict[str, Any], el: dict[str, Any], actor: str
) -> str:
    fields = {
        "channel": message["channel"],
        "ts": message["ts"],
        "block_id": block.get("block_id", ""),
        "action_id": el.get("action_id", ""),
        "as": actor,
    }
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(str(v))}">' for k, v in fields.items()
    )
    label = html.escape(str(el.get("text", {}).get("text", "")))
    css = html.escape(str(el.get("style", "")))
    return (
        f'<form method="post" action="ui/click" style="display:inline">{hidden}'
        f'<button class="{css}" type="submit">{label}</button></form>'
    )


def render_blocks(message: dict[str, Any], actor: str) -> str:
    if not message.get("blocks"):
        return mrkdwn_html(str(message.get("text", "")))
    out = []
    for block in message["blocks"]:
        kind = block.get("type")
        if kind == "header":
            out.append(f"<h3>{html.escape(str(block['text']['text']))}</h3>")
        elif kind == "section":
            if "text" in block:
                out.append(_text_of(block["text"]))
            fields = "".join(_text_of(f) for f in block.get("fields", []))
            out.append(f'<div class="fields">{fields}</div>' if fields else "")
        elif kind == "context":
            inner = "".join(_text_of(e) for e in block.get("elements", []))
            out.append(f'<div class="ctx">{inner}</div>')
        elif kind == "actions":
            out.append("".join(_button_form(message, block, el, actor) for el in block["elements"]))
        elif kind == "divider":
            out.append("<hr>")
    return "".join(out)


def _modal(view: dict[str, Any], actor: str, errors: dict[str, str]) -> str:
    inputs = []
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        bid, aid = block["block_id"], block["element"]["action_id"]
        err = errors.get(bid)
        inputs.append(
            f"<label>{html.escape(block['label']['text'])}<br>"
            f'<textarea name="{html.escape(bid)}|{html.escape(aid)}" rows="4" cols="60"></textarea>'
            f"</label>" + (f'<div class="err">{html.escape(err)}</div>' if err else "")
        )
    title = html.escape(view["title"]["text"])
    submit = html.escape(view.get("submit", {}).get("text", "Submit"))
    return (
        f'<div class="modal"><h3>{title}</h3><form method="post" action="ui/submit">'
        f'<input type="hidden" name="view_id" value="{html.escape(view["id"])}">'
        f'<input type="hidden" name="as" value="{html.escape(actor)}">{"".join(inputs)}<br>'
        f'<button type="submit" class="primary">{submit}</button></form>'
        f'<form method="post" action="ui/close"><input type="hidden" name="view_id" '
        f'value="{html.escape(view["id"])}"><input type="hidden" name="as" '
        f'value="{html.escape(actor)}"><button type="submit">Cancel</button></form></div>'
    )


def render_page(state: SandboxState, actor: str, errors: dict[str, str]) -> str:
    snap = state.snapshot()
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Slack sandbox</title>"
        f"<style>{STYLE}</style></head><body><h1>Slack sandbox</h1>",
        '<form method="get" action="./">Acting as Slack user '
        f'<input name="as" value="{html.escape(actor)}" size="14"> <button>Switch</button>'
        ' <a href="./?as=' + html.escape(actor) + '">refresh</a></form>',
        '<form method="post" action="ui/command">Slash command '
        '<input name="command" value="/expense-delegate" size="18"> '
        '<input name="text" placeholder="&lt;@U0CAROL&gt; 2026-12-24" size="30">'
        f'<input type="hidden" name="as" value="{html.escape(actor)}"> '
        "<button>Send</button></form>",
    ]
    for entry in snap["views"].values():
        if entry["open"] and entry["user"] == actor:
            parts.append(_modal(entry["view"], actor, errors))
    for eph in snap["ephemerals"]:
        if eph["user"] == actor:
            parts.append(
                f'<div class="msg eph"><b>Only visible to you</b>{mrkdwn_html(eph["text"])}</div>'
            )
    messages = snap["messages"]
    for message in reversed([m for m in messages if not m.get("thread_ts")]):
        is_dm = message["channel"].startswith("D")
        heading = f"DM to {message['channel'][1:]}" if is_dm else f"#{message['channel']}"
        replies = "".join(
            f'<div class="thread msg">{render_blocks(r, actor)}</div>'
            for r in messages
            if r.get("thread_ts") == message["ts"]
        )
        parts.append(
            f'<div class="msg"><div class="ctx">{html.escape(heading)} · '
            f"{html.escape(message['ts'])}</div>{render_blocks(message, actor)}"
            f"{replies}</div>"
        )
    if not messages:
        parts.append("<p>No messages yet. Submit an expense to see its approval card here.</p>")
    parts.append("</body></html>")
    return "".join(parts)
