"""Channel names in settings (`#approvals`) become ids once, at start (conversations.list)."""

import logging
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from app.settings import Settings

log = logging.getLogger(__name__)

# The settings that may name a channel, by their environment variable.
CHANNEL_SETTINGS = {
    "SLACK_APPROVALS_CHANNEL": "slack_approvals_channel",
    "SLACK_FINANCE_CHANNEL": "slack_finance_channel",
}


class UnknownChannel(ValueError):
    """A channel name that Slack does not know (or the bot cannot see)."""


def channel_id(client: WebClient, name: str) -> str | None:
    """The id of the channel called `name` (with or without `#`), over every page; else None."""
    wanted = name.removeprefix("#")
    pages = client.conversations_list(
        types="public_channel,private_channel", exclude_archived=True, limit=200
    )
    for page in pages:  # the SDK follows next_cursor
        for channel in page.get("channels", []):
            if channel.get("name") == wanted:
                return str(channel["id"])
    return None


def resolve_channel_names(settings: Settings, client: WebClient) -> dict[str, str]:
    """Each setting that names a channel, mapped to its id: environment variable -> id.

    In production an unknown name (or Slack refusing to list channels) raises UnknownChannel;
    in development it is logged and the name is kept.
    """
    resolved: dict[str, str] = {}
    for variable, field in CHANNEL_SETTINGS.items():
        name = str(getattr(settings, field))
        if not name.startswith("#"):
            continue
        try:
            found = channel_id(client, name)
            problem = None if found else "no channel of that name is visible to the bot"
        except SlackApiError as exc:
            found, problem = None, f"conversations.list failed ({exc.response.get('error')})"
        except (URLError, OSError) as exc:
            found, problem = None, f"Slack is unreachable ({type(exc).__name__})"
        if found is not None:
            resolved[variable] = found
            continue
        message = f"{variable}: {name}: {problem}; invite the bot or give the channel's id"
        if not settings.development:
            raise UnknownChannel(message)
        log.warning("%s", message)
    return resolved
