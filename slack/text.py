"""Escaping and trimming user text for Slack mrkdwn."""

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control syntax, so `<!channel>` pings nobody."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def escape_within(text: str, limit: int) -> str:
    """Escape `text`, cut (never inside an escape) to fit in `limit` characters."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = 0
    for ch in text:
        piece = _ESCAPES.get(ch, ch)
        if used + len(piece) > limit - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + "…"
