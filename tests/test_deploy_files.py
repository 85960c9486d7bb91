"""The deployment files: compose services, the Slack manifest and .env.example stay in step."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from app.cli import build_parser, cmd_beat, cmd_worker
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_compose_has_the_services_and_runs_migrations_first() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "api", "worker", "beat"} <= set(services)
    for name in ("api", "worker", "beat"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
    parser = build_parser()
    for name in ("migrate", "api", "worker", "beat"):
        command = services[name]["command"]
        assert command[0] == "expense-bot"
        parser.parse_args(command[1:])  # exits (fails the test) on an unknown subcommand


def test_compose_brings_the_bot_back_when_a_process_dies() -> None:
    # The worker exits non-zero on an unrecoverable error (e.g. a broker fault); every policy
    # accepted here restarts a process that exited non-zero.
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("api", "worker", "beat", "redis", "postgres"):
        assert services[name]["restart"] in {"always", "unless-stopped", "on-failure"}, name


def test_scaling_workers_never_adds_a_scheduler() -> None:
    """`docker compose up --scale worker=N` (README, "Scaling out"): one `beat`, whatever N."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    parser = build_parser()

    def schedules(service: dict[str, object]) -> bool:
        command = service.get("command")
        if not isinstance(command, list) or command[0] != "expense-bot":
            return False
        args = parser.parse_args(command[1:])
        return args.run is cmd_beat or (args.run is cmd_worker and args.beat)

    assert [name for name, service in services.items() if schedules(service)] == ["beat"]
    # A fixed container name or a published port would stop `--scale` from starting copies.
    assert "container_name" not in services["worker"]
    assert "ports" not in services["worker"]


def test_compose_config_validates_when_docker_compose_is_installed() -> None:
    if shutil.which("docker") is None:
        pytest.skip("docker CLI is not installed")
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    result = subprocess.run(
        ["docker", "compose", "config", "--quiet"],
        cwd=ROOT,
        # Compose refuses to run without a database password, by design.
        env={**os.environ, "POSTGRES_PASSWORD": "a-real-one-in-production"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_manifest_points_interactivity_at_the_bolt_route() -> None:
    manifest = yaml.safe_load((ROOT / "slack" / "manifest.yml").read_text())
    assert manifest["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert {"chat:write", "im:write", "im:history"} <= set(
        manifest["oauth_config"]["scopes"]["bot"]
    )


def test_manifest_subscribes_to_the_events_the_bot_listens_to() -> None:
    manifest = yaml.safe_load((ROOT / "slack" / "manifest.yml").read_text())
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"].endswith("/slack/events")
    assert {"app_home_opened", "message.im"} <= set(events["bot_events"])
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "channels:read" in manifest["oauth_config"]["scopes"]["bot"]


def test_env_example_documents_every_setting() -> None:
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    expected = {name.upper() for name in Settings.model_fields}
    assert expected <= documented, expected - documented


def test_compose_checks_the_api_for_readiness() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    check = " ".join(compose["services"]["api"]["healthcheck"]["test"])
    assert "/readyz" in check
    assert compose["x-bot"]["environment"]["APP_ENV"] == "production"
