"""The daily audit witness: the log's head hash, posted once a day as an anchor finance keeps."""

from datetime import date, datetime

from slack_sdk import WebClient

from app.db import Database
from app.domain.audit_chain import ChainPoint
from app.services.audit_verify import last_event
from slack.delivery import Post, deliver


def witness_key(day: date) -> str:
    return f"audit-witness:{day.isoformat()}"


def witness_text(head: ChainPoint, as_of: datetime) -> str:
    return (
        f"Audit log head at {as_of:%Y-%m-%d %H:%M} UTC: event {head.id} (seq {head.seq}).\n"
        f"Anchor: `{head.id}:{head.hash}`\n"
        "Keep it: `expense-bot audit verify --anchor` with this value proves the log still "
        "passes through this event unchanged."
    )


def post_witness(db: Database, client: WebClient, channel: str, now: datetime) -> str | None:
    """Post today's head once (the outbox dedupes by UTC day); None when the log is empty."""
    with db.session() as session:
        head = last_event(session.connection())
    if head is None:
        return None
    post = Post(
        dedupe_key=witness_key(now.date()),
        expense_id=None,
        kind="witness",
        channel=channel,
        text=witness_text(head, now),
    )
    return deliver(db, client, post)
