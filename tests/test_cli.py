"""The command line: what it creates, and the exit codes and messages when it cannot."""

import socket
import uuid
from pathlib import Path

import pytest

from app.cli import EXIT_CONFIG, EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE, main
from app.db import Database
from app.dev import banner
from app.services.employees import authenticate
from app.settings import Settings


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, postgres_url: str, tmp_path: object) -> str:
    monkeypatch.chdir(str(tmp_path))  # no developer .env here
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("APP_ENV", "development")
    return postgres_url


def test_employee_and_token_lifecycle(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    tag = uuid.uuid4().hex[:8]
    boss, worker = f"boss-{tag}@corp.example", f"w-{tag}@corp.example"
    assert main(["employee", "add", "--email", boss, "--name", "Boss", "--role", "approver"]) == 0
    assert (
        main(
            [
                "employee",
                "add",
                "--email",
                worker,
                "--name",
                "W",
                "--slack-id",
                f"U{tag}",
                "--manager",
                boss,
            ]
        )
        == EXIT_OK
    )
    capsys.readouterr()
    assert main(["token", "create", "--email", worker]) == EXIT_OK
    token = capsys.readouterr().out.strip()
    db = Database(cli_env, job_sender=lambda _jobs: None)
    with db.session() as session:
        employee = authenticate(session, token)
        assert employee is not None
        assert employee.email == worker
    db.dispose()


def test_refusals_say_what_went_wrong(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    email = f"dup-{uuid.uuid4().hex[:8]}@corp.example"
    assert main(["employee", "add", "--email", email, "--name", "A"]) == EXIT_OK
    assert main(["employee", "add", "--email", email, "--name", "A"]) == EXIT_ERROR
    assert "already exists" in capsys.readouterr().err
    assert main(["token", "create", "--email", "nobody@corp.example"]) == EXIT_ERROR
    assert "no employee with email nobody@corp.example" in capsys.readouterr().err
    missing_boss = [
        "employee",
        "add",
        "--email",
        f"x{email}",
        "--name",
        "X",
        "--manager",
        "ghost@corp.example",
    ]
    assert main(missing_boss) == EXIT_ERROR
    with pytest.raises(SystemExit) as usage:
        main(["employee", "add", "--email", "a@b.c", "--name", "A", "--role", "king"])
    assert usage.value.code == 2


def test_bad_configuration_and_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.delenv("APP_ENV", raising=False)  # production, the default
    assert main(["doctor"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "SLACK_SIGNING_SECRET" in err
    assert "SESSION_SECRET" in err
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/none")
    assert main(["token", "create", "--email", "a@b.c"]) == EXIT_UNREACHABLE
    assert "cannot reach the database" in capsys.readouterr().err


def test_the_bot_refuses_to_start_on_an_unreadable_policy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APP_ENV", "development")
    policy = tmp_path / "policy.toml"
    policy.write_text('version = "x"\ncurrency = "XAU"\n')
    monkeypatch.setenv("POLICY_FILE", str(policy))
    assert main(["worker"]) == EXIT_CONFIG
    assert "POLICY_FILE" in capsys.readouterr().err


def test_doctor_and_the_dev_banner_never_print_a_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    secrets = {
        "DATABASE_URL": "postgresql+psycopg2://bot:db-Secret-4711@127.0.0.1:1/bot",
        "CELERY_BROKER_URL": "redis://:broker-Secret-4712@127.0.0.1:1/0",
        "SLACK_BOT_TOKEN": "xoxb-bot-Secret-4713",
        "SLACK_SIGNING_SECRET": "signing-Secret-4714",
        "SESSION_SECRET": "session-Secret-4715",
        "OPENAI_API_KEY": "sk-openai-Secret-4716",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("APP_ENV", "development")
    assert main(["doctor"]) == EXIT_OK
    printed = capsys.readouterr()
    shown = banner(Settings(_env_file=None), "http://127.0.0.1:8000")
    for value in secrets.values():
        secret_part = value.split("Secret-")[1]
        assert secret_part not in printed.out + printed.err
        assert secret_part not in shown
    assert "production would refuse to start" in printed.out


def test_several_api_workers_share_a_socket_whose_connections_send_at_once(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without TCP_NODELAY, a response written in two parts waited ~40 ms for a delayed ACK."""
    served: list[socket.socket] = []

    class Supervisor:
        def __init__(self, config: object, sockets: list[socket.socket]) -> None:
            served.extend(sockets)

        def run(self) -> None:
            return None

    monkeypatch.setattr("uvicorn.supervisors.Multiprocess", Supervisor)
    assert main(["api", "--port", "0", "--workers", "2"]) == EXIT_OK
    [listener] = served
    try:
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        # Linux hands the option on to every connection the listener accepts.
        listener.listen()
        with socket.create_connection(listener.getsockname()):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        listener.close()
