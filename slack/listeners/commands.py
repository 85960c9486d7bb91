"""The `/expense-delegate` slash command: an approver names who decides their steps while away."""

import re
from datetime import date
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from app.db import Database
from app.domain.audit import Actor, Channel
from app.domain.errors import DomainError
from app.services.delegations import delegate
from app.services.employees import find_by_email, find_by_slack_id
from models.base import utcnow
from slack.answers import REFUSALS
from slack.listeners.common import AfterAck, tell

DELEGATE_COMMAND = "/expense-delegate"
USAGE = (
    f"Usage: `{DELEGATE_COMMAND} @someone YYYY-MM-DD`: they decide your approval steps, "
    "acting for you, until the end of that day (UTC)."
)
# With "Escape channels, users, and links" on, Slack sends a mention as <@U123|name>.
DELEGATION_TEXT = re.compile(
    r"\s*(?:<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?>|(?P<email>[^\s<>@]+@[^\s<>]+))"
    r"\s+(?:until\s+)?(?P<until>[0-9]{4}-[0-9]{2}-[0-9]{2})\s*"
)


def parse_delegation(text: str) -> tuple[str, date] | None:
    """(the delegate's Slack id or email, the last day) from the command's text, or None."""
    match = DELEGATION_TEXT.fullmatch(text)
    if match is None:
        return None
    try:
        until = date.fromisoformat(match["until"])
    except ValueError:
        return None
    return match["user"] or match["email"], until


def delegate_from_slack(db: Database, client: WebClient, command: dict[str, Any]) -> None:
    user, channel = command["user_id"], command.get("channel_id") or command["user_id"]
    parsed = parse_delegation(command.get("text", ""))
    if parsed is None:
        tell(client, channel, user, USAGE)
        return
    who, until = parsed
    with db.session() as session:
        principal = find_by_slack_id(session, user)
        deputy = find_by_email(session, who) if "@" in who else find_by_slack_id(session, who)
        if principal is None:
            answer = REFUSALS["unknown_user"]
        elif deputy is None:
            answer = f"{who} is not an employee this bot knows."
        else:
            try:
                delegate(
                    session,
                    principal=principal,
                    delegate=deputy,
                    until=until,
                    now=utcnow(),
                    actor=Actor.slack_user(user, principal.id, principal.email),
                    channel=Channel.SLACK,
                )
                answer = (
                    f"{deputy.name} now decides your approval steps, acting for you, "
                    f"until the end of {until.isoformat()} (UTC)."
                )
            except DomainError as refused:
                answer = f"No delegation: {refused}."
    tell(client, channel, user, answer)


def register(bolt: App, db: Database, after_ack: AfterAck) -> None:
    @bolt.command(DELEGATE_COMMAND)
    def delegate_command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack.submit(delegate_from_slack, db, client, command)
