"""Channel names in settings: resolved through the real slack_sdk against the stand-in, at start."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.settings import Settings
from bench.standins.server import ServerThread
from slack.channels import UnknownChannel, channel_id, resolve_channel_names
from slack.client import make_web_client
from slack.sandbox.app import create_sandbox_app
from slack.sandbox.web_api import SandboxState
from tests.settings_factories import dev, settings, strong_production

TOKEN = "xoxb-channels-test-token"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[ServerThread, SandboxState]]:
    app = create_sandbox_app(bot_token=TOKEN, signing_secret="s" * 32, events_url="http://unused")
    state: SandboxState = app.state.sandbox
    with state.lock:
        # More than one page of conversations.list (200 a page).
        state.channels.update({f"C0{n:05d}": f"team-{n}" for n in range(450)})
        state.channels["C0EXPENSES"] = "expenses"
    with ServerThread(app) as server:
        yield server, state


def configured(sandbox_url: str, **values: object) -> Settings:
    return settings(
        **strong_production(slack_bot_token=TOKEN, slack_api_url=f"{sandbox_url}/api/", **values)
    )


def test_a_name_on_a_later_page_is_found(sandbox: tuple[ServerThread, SandboxState]) -> None:
    server, state = sandbox
    client = make_web_client(configured(server.url))
    before = len(state.calls)
    assert channel_id(client, "#team-420") == "C000420"
    listed = [c for c in state.calls[before:] if c["method"] == "conversations.list"]
    assert len(listed) == 3
    assert channel_id(client, "nope") is None


def test_settings_names_become_ids(sandbox: tuple[ServerThread, SandboxState]) -> None:
    server, _ = sandbox
    values = configured(
        server.url, slack_approvals_channel="#expenses", slack_finance_channel="C0FINANCE"
    )
    ids = resolve_channel_names(values, make_web_client(values))
    assert ids == {"SLACK_APPROVALS_CHANNEL": "C0EXPENSES"}


def test_production_refuses_a_name_that_does_not_resolve(
    sandbox: tuple[ServerThread, SandboxState],
) -> None:
    server, _ = sandbox
    values = configured(server.url, slack_approvals_channel="#no-such-channel")
    with pytest.raises(UnknownChannel, match="SLACK_APPROVALS_CHANNEL: #no-such-channel"):
        resolve_channel_names(values, make_web_client(values))


def test_development_keeps_the_name_and_says_why(
    sandbox: tuple[ServerThread, SandboxState], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = sandbox
    values = dev(
        slack_bot_token=TOKEN,
        slack_api_url=f"{server.url}/api/",
        slack_approvals_channel="#no-such-channel",
    )
    with caplog.at_level(logging.WARNING):
        assert resolve_channel_names(values, make_web_client(values)) == {}
    assert "no channel of that name" in caplog.text


def test_the_bot_refuses_to_start_with_a_clear_message(
    sandbox: tuple[ServerThread, SandboxState],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    server, _ = sandbox
    values = configured(server.url, slack_approvals_channel="#no-such-channel")
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in values.model_dump().items():
        if value not in (None, ""):
            raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            monkeypatch.setenv(name.upper(), str(raw))
    monkeypatch.chdir(tmp_path)  # no .env file here
    assert main(["worker"]) == 3
    err = capsys.readouterr().err
    assert "SLACK_APPROVALS_CHANNEL: #no-such-channel" in err
    assert "invite the bot or give the channel's id" in err


def test_a_channel_name_is_a_valid_setting_and_a_bare_word_is_not() -> None:
    assert dev(slack_approvals_channel="#approvals-eu").slack_approvals_channel == "#approvals-eu"
    with pytest.raises(ValueError, match="slack_approvals_channel"):
        dev(slack_approvals_channel="#Approvals")
