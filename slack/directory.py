"""Finding people's Slack user ids by email, with users.lookupByEmail."""

import logging
from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from app.domain.directory import SLACK_USER_ID, LookupResults

log = logging.getLogger(__name__)

# The one answer that is about this person; any other error would fail for everyone after
# them too (rate limits, a bad token, a missing scope, Slack unreachable), so lookups stop.
NOT_FOUND = "users_not_found"


def lookup_slack_ids(client: WebClient, emails: Sequence[str]) -> LookupResults:
    """Each email's Slack user id, or why it has none. A failure is reported, never raised."""
    results = LookupResults()
    for index, email in enumerate(emails):
        try:
            response = client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
        except (SlackClientError, OSError) as exc:  # URLError and timeouts are OSErrors
            error = f"network error ({type(exc).__name__})"
        else:
            user = response.get("user") or {}
            user_id = user.get("id")
            if user.get("deleted"):
                results.failed[email] = "deactivated in Slack"
            elif isinstance(user_id, str) and SLACK_USER_ID.fullmatch(user_id):
                results.found[email] = user_id
            else:
                results.failed[email] = "Slack answered without a user id"
            continue
        results.failed[email] = error
        if error != NOT_FOUND:
            log.info("Slack lookups stopped after %s", error)
            for skipped in emails[index + 1 :]:
                results.failed[skipped] = f"not looked up after {error}"
            break
    return results
