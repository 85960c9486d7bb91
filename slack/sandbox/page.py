"""Renders the sandbox page: channels, cards with working buttons, ephemerals and open modals."""

import html
import re
from typing import Any

from slack.sandbox.web_api import SandboxState

DEMO_USERS = ("U0ALICE", "U0BOB", "U0CAROL", "U0DANA", "U0ERIN")
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


def _hidden(fields: dict[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items()
    )


def _button_form(
    target: str, fields: dict[str, str], block: dict[str, Any], el: dict[str, Any]
) -> str:
    where = {**fields, "block_id": block.get("block_id", ""), "action_id": el.get("action_id", "")}
    label = html.escape(str(el.get("text", {}).get("text", "")))
    css = html.escape(str(el.get("style", "")))
    return (
        f'<form method="post" action="{target}" style="display:inline">{_hidden(where)}'
        f'<button class="{css}" type="submit">{label}</button></form>'
    )


def render_blocks(message: dict[str, Any], actor: str) -> str:
    """A message; its buttons click as `actor`."""
    if not message.get("blocks"):
        return mrkdwn_html(str(message.get("text", "")))
    fields = {"channel": message["channel"], "ts": message["ts"], "as": actor}
    return _blocks(message["blocks"], "ui/click", fields)


def _blocks(blocks: list[dict[str, Any]], target: str, fields: dict[str, str]) -> str:
    out = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            out.append(f"<h3>{html.escape(str(block['text']['text']))}</h3>")
        elif kind == "section":
            if "text" in block:
                out.append(_text_of(block["text"]))
            cells = "".join(_text_of(f) for f in block.get("fields", []))
            out.append(f'<div class="fields">{cells}</div>' if cells else "")
        elif kind == "context":
            inner = "".join(_text_of(e) for e in block.get("elements", []))
            out.append(f'<div class="ctx">{inner}</div>')
        elif kind == "actions":
            out.append("".join(_button_form(target, fields, block, el) for el in block["elements"]))
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


def _switcher(snap: dict[str, Any], actor: str) -> str:
    """Pick whom to act as: the demo people, and anyone the bot has written to or shown a tab."""
    seen = {m["channel"].replace("D", "U", 1) for m in snap["messages"] if m["channel"][0] == "D"}
    users = sorted({*DEMO_USERS, *seen, *snap["homes"], actor})
    options = "".join(
        f"<option{' selected' if u == actor else ''}>{html.escape(u)}</option>" for u in users
    )
    me = html.escape(actor)
    return (
        '<form method="get" action="./">Acting as Slack user '
        f'<select name="as">{options}</select> <button>Switch</button>'
        f' <a href="./?as={me}">messages</a></form>'
        f'<form method="post" action="ui/home"><input type="hidden" name="as" value="{me}">'
        '<button type="submit">Open the bot\'s Home tab</button></form>'
    )


def _command_form(actor: str) -> str:
    """Type a slash command as the actor, in their direct messages with the bot."""
    return (
        '<form method="post" action="ui/command">Slash command '
        '<input name="command" value="/expense-delegate" size="18"> '
        '<input name="text" placeholder="&lt;@U0CAROL&gt; 2026-12-24" size="30">'
        f'<input type="hidden" name="as" value="{html.escape(actor)}"> '
        "<button>Send</button></form>"
    )


def _home(snap: dict[str, Any], actor: str) -> str:
    view = snap["homes"].get(actor)
    if view is None:
        return "<p>The bot has not published a Home tab for you yet.</p>"
    shown = _blocks(view["blocks"], "ui/home_click", {"as": actor})
    return f'<div class="msg home"><h2>Home</h2>{shown}</div>'


def _reply_form(message: dict[str, Any], actor: str) -> str:
    """Direct messages can be answered in their thread, as the person they were sent to."""
    if message["channel"] != "D" + actor[1:]:
        return ""
    fields = {"channel": message["channel"], "thread_ts": message["ts"], "as": actor}
    return (
        f'<form method="post" action="ui/reply" class="thread">{_hidden(fields)}'
        '<input name="text" size="50" placeholder="Reply in thread"> <button>Reply</button></form>'
    )


def render_page(state: SandboxState, actor: str, errors: dict[str, str], tab: str = "") -> str:
    snap = state.snapshot()
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Slack sandbox</title>"
        f"<style>{STYLE}</style></head><body><h1>Slack sandbox</h1>",
        _switcher(snap, actor),
        _command_form(actor),
    ]
    if tab == "home":
        parts.append(_home(snap, actor))
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
            f"{replies}{_reply_form(message, actor)}</div>"
        )
    if not messages:
        parts.append("<p>No messages yet. Submit an expense to see its approval card here.</p>")
    parts.append("</body></html>")
    return "".join(parts)
