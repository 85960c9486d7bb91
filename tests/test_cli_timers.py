"""`expense-bot delegate` and `expense-bot timers tick`: what they record, and their refusals."""

import uuid

import pytest
from sqlalchemy import select

from app.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from app.db import Database
from models import AuditEvent, Delegation
from tests.test_cli import cli_env  # noqa: F401  (the fixture)


def test_delegate_records_an_audited_delegation(
    cli_env: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    tag = uuid.uuid4().hex[:8]
    boss, deputy = f"boss-{tag}@corp.example", f"deputy-{tag}@corp.example"
    assert main(["employee", "add", "--email", boss, "--name", "Boss"]) == EXIT_OK
    assert main(["employee", "add", "--email", deputy, "--name", "Deputy"]) == EXIT_OK
    args = ["delegate", "--from", boss, "--to", deputy, "--until", "2099-01-31"]
    assert main(args) == EXIT_OK
    assert f"{deputy} decides {boss}'s steps until 2099-01-31" in capsys.readouterr().out
    db = Database(cli_env, job_sender=lambda _jobs: None)
    with db.session() as session:
        row = session.scalars(select(Delegation).order_by(Delegation.id.desc()).limit(1)).one()
        assert row.ends_at.isoformat() == "2099-02-01T00:00:00+00:00"
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "delegated").order_by(AuditEvent.id)
        ).all()[-1]
        assert (event.channel, event.details["from"], event.details["to"]) == ("cli", boss, deputy)
    db.dispose()


def test_delegate_refusals_and_bad_times(
    cli_env: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    email = f"solo-{uuid.uuid4().hex[:8]}@corp.example"
    assert main(["employee", "add", "--email", email, "--name", "Solo"]) == EXIT_OK
    assert main(["delegate", "--from", email, "--to", email, "--until", "2099-01-01"]) == 1
    assert "themselves" in capsys.readouterr().err
    missing = ["delegate", "--from", email, "--to", "nobody@corp.example", "--until", "2099-01-01"]
    assert main(missing) == EXIT_ERROR
    assert "no employee with email nobody@corp.example" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["timers", "tick", "--at", "next tuesday"])
    assert usage.value.code == EXIT_USAGE
    assert "not an ISO 8601 time" in capsys.readouterr().err
