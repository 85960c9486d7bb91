"""The directory and token commands, on PostgreSQL, with Slack lookups against the stand-in."""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import EXIT_ERROR, EXIT_OK, main
from app.db import Database
from app.services.employees import authenticate, hash_token
from bench.standins.server import ServerThread
from tests.standins.slack_sandbox import add_member, sandbox_server

TOKEN = "xoxb-cli-directory-test"
HEADER = "email,name,slack_user_id,manager_email,department,cost_center,roles"


@pytest.fixture(scope="module")
def slack() -> Iterator[ServerThread]:
    with sandbox_server(TOKEN) as server:
        yield server


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str, tmp_path: Path, slack: ServerThread
) -> Path:
    """Development settings on the test database, talking to the Slack stand-in."""
    monkeypatch.chdir(tmp_path)  # no developer .env here
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("SLACK_API_URL", f"{slack.url}/api/")
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    return tmp_path


def people(tag: str) -> tuple[str, str, str]:
    return f"ann-{tag}@corp.example", f"bob-{tag}@corp.example", f"cy-{tag}@corp.example"


def write_csv(folder: Path, *lines: str) -> str:
    path = folder / f"people-{uuid.uuid4().hex[:6]}.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return str(path)


def listed(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    capsys.readouterr()
    assert main(["employee", "list", "--json"]) == EXIT_OK
    return {p["email"]: p for p in json.loads(capsys.readouterr().out)}


def test_import_list_and_import_again(
    env: Path, slack: ServerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    ann, bob, cy = people(tag)
    bob_slack = f"U{tag.upper()}B"
    add_member(slack, bob, bob_slack)
    file = write_csv(
        env,
        f"{ann},Ann,,{bob},Sales,CC-1,",
        f"{bob},Bob,,,Sales,CC-1,approver;finance",
        f"{cy},Cy,U{tag.upper()}C,{bob},,,auditor",
    )
    assert main(["employee", "import", file]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"{file}: 3 added, 0 updated, 0 unchanged" in out
    assert f"line 2: {ann}: users_not_found" in out

    everyone = listed(capsys)
    assert everyone[bob]["slack_user_id"] == bob_slack
    assert everyone[bob]["roles"] == ["approver", "employee", "finance"]
    assert everyone[ann]["manager_email"] == bob
    assert everyone[ann]["slack_user_id"] is None

    assert main(["employee", "import", file]) == EXIT_OK
    again = capsys.readouterr().out
    assert f"{file}: nothing changed (3 unchanged)" in again
    assert listed(capsys) == everyone

    assert main(["employee", "list"]) == EXIT_OK
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "EMAIL",
        "NAME",
        "SLACK",
        "MANAGER",
        "DEPARTMENT",
        "COST",
        "CENTER",
        "ROLES",
        "ACTIVE",
    ]
    bob_line = next(line for line in table if line.startswith(bob))
    assert bob_line.split() == [
        bob,
        "Bob",
        bob_slack,
        "-",
        "Sales",
        "CC-1",
        "approver;employee;finance",
        "yes",
    ]


def test_an_update_is_summarised_with_its_fields(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ann, _, _ = people(uuid.uuid4().hex[:8])
    assert main(["employee", "import", "--no-slack-lookup", write_csv(env, f"{ann},Ann,,,,,")]) == 0
    capsys.readouterr()
    changed = write_csv(env, f"{ann},Ann,,,Ops,,approver")
    assert main(["employee", "import", "--no-slack-lookup", changed]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"{changed}: 0 added, 1 updated, 0 unchanged" in out
    assert f"line 2: updated {ann} (department, roles)" in out


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["{ann},Ann,,,,,", "{bob},,,,,,"], "line 3, name: must not be empty"),
        (["{ann},Ann,,,,,", "{bob},Bob,,,,,boss"], "line 3, roles: names a role"),
        (["{ann},Ann,,{cy},,,", "{cy},Cy,,{ann},,,"], "line 2, manager_email: managers would loop"),
        (["{ann},Ann,,{nobody},,,"], "line 2, manager_email: nobody"),
    ],
)
def test_a_bad_file_names_line_and_field_and_imports_nothing(
    env: Path, capsys: pytest.CaptureFixture[str], lines: list[str], expected: str
) -> None:
    ann, bob, cy = people(uuid.uuid4().hex[:8])
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@corp.example"
    file = write_csv(env, *(line.format(ann=ann, bob=bob, cy=cy, nobody=nobody) for line in lines))
    assert main(["employee", "import", file]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "nothing was changed" in err
    assert expected in err
    assert not {ann, bob, cy} & set(listed(capsys))


def test_an_unreadable_file_is_an_error(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["employee", "import", str(env / "missing.csv")]) == EXIT_ERROR
    assert "cannot read" in capsys.readouterr().err


def test_deactivate_and_tokens(
    env: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ann, bob, _ = people(uuid.uuid4().hex[:8])
    file = write_csv(env, f"{ann},Ann,,,,,", f"{bob},Bob,,,,,")
    assert main(["employee", "import", "--no-slack-lookup", file]) == EXIT_OK
    assert main(["token", "create", "--email", ann]) == EXIT_OK
    assert main(["token", "create", "--email", bob]) == EXIT_OK
    capsys.readouterr()
    assert main(["token", "create", "--email", bob]) == EXIT_OK
    bob_token = capsys.readouterr().out.strip()

    assert main(["token", "list", "--email", bob]) == EXIT_OK
    listing = capsys.readouterr().out
    rows = listing.splitlines()[1:]
    assert len(rows) == 2
    assert all(row.split()[1] == bob and row.rstrip().endswith("-") for row in rows)
    assert bob_token not in listing
    assert hash_token(bob_token) not in listing

    db = Database(postgres_url, job_sender=lambda _jobs: None)
    try:
        newest = rows[-1].split()[0]
        assert main(["token", "revoke", newest]) == EXIT_OK
        assert "refused from the next request on" in capsys.readouterr().out
        with db.session() as session:
            assert authenticate(session, bob_token) is None
        assert main(["token", "revoke", newest]) == EXIT_OK
        assert "already revoked" in capsys.readouterr().out
        assert main(["token", "revoke", "999999999"]) == EXIT_ERROR
        assert "no token with id 999999999" in capsys.readouterr().err

        assert main(["employee", "deactivate", ann.upper()]) == EXIT_OK
        assert f"deactivated {ann}" in capsys.readouterr().out
        assert main(["employee", "deactivate", ann]) == EXIT_OK
        assert "already deactivated" in capsys.readouterr().out
        assert listed(capsys)[ann]["active"] is False
        assert main(["employee", "deactivate", "ghost@corp.example"]) == EXIT_ERROR
    finally:
        db.dispose()
