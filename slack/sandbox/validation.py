"""Strict Block Kit checks with Slack's published limits: oversize cards fail here as in Slack."""

from typing import Any

MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
TEXT_LIMITS = {"section": 3000, "header": 150}
KNOWN_BLOCKS = {"section", "header", "context", "actions", "divider", "input", "image"}


class BlockError(ValueError):
    pass


def _text(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        raise BlockError(f"{where}: must be a text object")
    if plain_only and obj["type"] != "plain_text":
        raise BlockError(f"{where}: must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        raise BlockError(f"{where}: text must be a non-empty string")
    if len(text) > limit:
        raise BlockError(f"{where}: must be less than {limit + 1} characters")


def _element(el: Any, where: str) -> None:
    if not isinstance(el, dict):
        raise BlockError(f"{where}: must be an object")
    if len(str(el.get("action_id", ""))) > 255:
        raise BlockError(f"{where}.action_id: must be less than 256 characters")
    if el.get("type") == "button":
        _text(el.get("text"), f"{where}.text", 75, plain_only=True)
        if len(str(el.get("value", ""))) > 2000:
            raise BlockError(f"{where}.value: must be less than 2001 characters")
    elif el.get("type") == "plain_text_input":
        if int(el.get("max_length", 3000)) > 3000:
            raise BlockError(f"{where}.max_length: must be at most 3000")


def _block(block: Any, where: str) -> None:
    if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCKS:
        raise BlockError(f"{where}: unknown block type")
    kind = block["type"]
    if len(str(block.get("block_id", ""))) > 255:
        raise BlockError(f"{where}.block_id: must be less than 256 characters")
    if kind == "header":
        _text(block.get("text"), f"{where}.text", TEXT_LIMITS["header"], plain_only=True)
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            raise BlockError(f"{where}: needs text or fields")
        if "text" in block:
            _text(block["text"], f"{where}.text", TEXT_LIMITS["section"])
        fields = block.get("fields", [])
        if len(fields) > 10:
            raise BlockError(f"{where}.fields: must have at most 10 items")
        for i, f in enumerate(fields):
            _text(f, f"{where}.fields[{i}]", 2000)
    elif kind == "context":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 10:
            raise BlockError(f"{where}.elements: must have 1 to 10 items")
        for i, e in enumerate(elements):
            _text(e, f"{where}.elements[{i}]", 3000)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 25:
            raise BlockError(f"{where}.elements: must have 1 to 25 items")
        for i, e in enumerate(elements):
            _element(e, f"{where}.elements[{i}]")
    elif kind == "input":
        _text(block.get("label"), f"{where}.label", 2000, plain_only=True)
        _element(block.get("element"), f"{where}.element")


def check_blocks(blocks: Any, *, limit: int = MESSAGE_BLOCKS) -> None:
    if not isinstance(blocks, list):
        raise BlockError("blocks: must be a list")
    if len(blocks) > limit:
        raise BlockError(f"blocks: must have at most {limit} items")
    for i, block in enumerate(blocks):
        _block(block, f"blocks[{i}]")


def check_modal(view: Any) -> None:
    if not isinstance(view, dict) or view.get("type") != "modal":
        raise BlockError("view: must be a modal")
    _text(view.get("title"), "view.title", 24, plain_only=True)
    for key in ("submit", "close"):
        if key in view:
            _text(view[key], f"view.{key}", 24, plain_only=True)
    if len(str(view.get("private_metadata", ""))) > 3000:
        raise BlockError("view.private_metadata: must be less than 3001 characters")
    if len(str(view.get("callback_id", ""))) > 255:
        raise BlockError("view.callback_id: must be less than 256 characters")
    check_blocks(view.get("blocks"), limit=MODAL_BLOCKS)


def check_home(view: Any) -> None:
    if not isinstance(view, dict) or view.get("type") != "home":
        raise BlockError("view: must be a home tab")
    check_blocks(view.get("blocks"), limit=MODAL_BLOCKS)
