"""Looking up Slack ids by email, through slack_sdk, against the strict sandbox stand-in."""

import uuid
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from app.metrics import SLACK_RATE_LIMITED
from app.settings import Settings
from bench.standins.server import ServerThread, free_port
from slack.client import make_web_client
from slack.directory import lookup_slack_ids
from tests.standins.slack_sandbox import add_member, sandbox_server

TOKEN = "xoxb-lookup-test"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ServerThread]:
    with sandbox_server(TOKEN) as server:
        yield server


def client(sandbox: ServerThread, token: str = TOKEN) -> WebClient:
    """The client the bot uses, with its retries and metering, aimed at the sandbox."""
    settings = Settings(
        _env_file=None,
        app_env="development",
        slack_api_url=f"{sandbox.url}/api/",
        slack_bot_token=token,
    )
    return make_web_client(settings)


def member(sandbox: ServerThread) -> tuple[str, str]:
    email = f"m-{uuid.uuid4().hex[:10]}@corp.example"
    return email, add_member(sandbox, email)


def test_members_are_found_by_email_and_strangers_are_not(sandbox: ServerThread) -> None:
    email, user_id = member(sandbox)
    stranger = f"s-{uuid.uuid4().hex[:10]}@corp.example"
    results = lookup_slack_ids(client(sandbox), [email.upper(), stranger])
    assert results.found == {email.upper(): user_id}
    assert results.failed == {stranger: "users_not_found"}


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_a_rate_limit_stops_the_lookups_that_would_follow(sandbox: ServerThread) -> None:
    first, _ = member(sandbox)
    second, _ = member(sandbox)
    control = {"method": "users.lookupByEmail", "status": 429, "retry_after": 1, "times": 2}
    httpx.post(f"{sandbox.url}/_control/fail", json=control).raise_for_status()
    results = lookup_slack_ids(client(sandbox), [first, second])
    assert results.found == {}
    assert results.failed == {first: "ratelimited", second: "not looked up after ratelimited"}
    # The retried 429 is counted under the method's name, not its query string of emails.
    methods = {
        sample.labels["method"]
        for metric in SLACK_RATE_LIMITED.collect()
        for sample in metric.samples
    }
    assert "users.lookupByEmail" in methods
    assert not [method for method in methods if "@" in method or "?" in method]


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_a_bad_token_and_an_unreachable_slack_are_reported(sandbox: ServerThread) -> None:
    email, _ = member(sandbox)
    other, _ = member(sandbox)
    refused = lookup_slack_ids(client(sandbox, "xoxb-not-ours"), [email, other])
    assert refused.failed == {email: "invalid_auth", other: "not looked up after invalid_auth"}
    offline = WebClient(token=TOKEN, base_url=f"http://127.0.0.1:{free_port()}/api/", timeout=2)
    unreachable = lookup_slack_ids(offline, [email])
    assert unreachable.found == {}
    assert unreachable.failed[email].startswith("network error")


def test_the_stand_in_answers_like_slack(sandbox: ServerThread) -> None:
    email, user_id = member(sandbox)
    api = f"{sandbox.url}/api/users.lookupByEmail"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(api, params={"email": email}, headers=auth).json()["user"]["id"] == user_id
    # Arguments may also come as a form, with the token among them, as Slack allows.
    form = httpx.post(api, data={"email": email, "token": TOKEN}).json()
    assert form["user"]["id"] == user_id
    assert httpx.get(api, params={"email": email}).json() == {"ok": False, "error": "not_authed"}
    assert httpx.get(api, headers=auth).json()["error"] == "invalid_arguments"
    unknown = httpx.get(api, params={"email": "nobody@corp.example"}, headers=auth).json()
    assert unknown == {"ok": False, "error": "users_not_found"}


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_a_rate_limited_post_is_left_to_the_outbox_other_calls_are_retried(
    sandbox: ServerThread,
) -> None:
    slack = client(sandbox)
    channel = "C" + uuid.uuid4().hex[:10]
    posted = slack.chat_postMessage(channel=channel, text="first")
    fail = {"status": 429, "retry_after": 1, "times": 1}
    httpx.post(f"{sandbox.url}/_control/fail", json={"method": "chat.postMessage", **fail})
    # A post retried inside the SDK would skip the channel's pacing: the 429 comes back to us.
    with pytest.raises(SlackApiError) as refused:
        slack.chat_postMessage(channel=channel, text="second")
    assert refused.value.response.status_code == 429
    httpx.post(f"{sandbox.url}/_control/fail", json={"method": "chat.update", **fail})
    slack.chat_update(channel=channel, ts=posted["ts"], text="edited")  # retried after 1 s
