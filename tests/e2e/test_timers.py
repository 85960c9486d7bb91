"""Time and delegation end to end: a real API and worker, signed Slack payloads, and the clock
moved by ticks sent at future moments (`expense-bot timers tick --at`), never waited for."""

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.db import Database
from app.services.employees import add_employee, create_token
from app.settings import DEFAULT_POLICY_FILE
from slack.ids import ActionId
from slack.sandbox.payloads import signed_form, slash_command
from tests.e2e.conftest import postgres_stack
from tests.e2e.harness import Stack, expense_body, wait_for
from tests.standins.server import ServerThread

pytestmark = pytest.mark.e2e

# Remind after an hour, escalate after two, expire after three (calendar time).
TIMED = (
    DEFAULT_POLICY_FILE.read_text()
    .replace('remind_after = "2d"', 'remind_after = "1h"')
    .replace('escalate_after = "4d"', 'escalate_after = "2h"')
    .replace('expire_after = "14d"', 'expire_after = "3h"')
)


@pytest.fixture(scope="module")
def timed(
    tmp_path_factory: pytest.TempPathFactory, openai_standin: ServerThread, redis_url: str
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("timers")
    policy = tmp / "policy.toml"
    policy.write_text(TIMED)
    yield from postgres_stack(tmp, openai_standin, redis_url, POLICY_FILE=str(policy))


def hire(stack: Stack, name: str, *roles: str, manager: str | None = None) -> tuple[str, str]:
    """A new employee of this test's own, with a token: (email, Slack id)."""
    tag = uuid.uuid4().hex[:8]
    email, slack_id = f"{name}-{tag}@example.com", f"U{name.upper()}{tag.upper()}"
    db = Database(stack.env["DATABASE_URL"], job_sender=lambda _jobs: None)
    try:
        with db.session() as session:
            person = add_employee(
                session,
                email=email,
                name=f"{name.title()} {tag}",
                slack_user_id=slack_id,
                roles=roles,
                manager_email=manager,
            )
            stack.tokens[email] = create_token(session, person)
    finally:
        db.dispose()
    return email, slack_id


def operator(stack: Stack, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=stack.env,
        cwd=stack.workdir or Path.cwd(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def routed_at(stack: Stack, expense_id: str) -> datetime:
    """When the step opened: the gate's routing event, written in the same transaction."""
    history = stack.wait_status(expense_id, "pending_approval")["history"]
    event = next(e for e in history if e["action"] == "routed_to_human")
    return datetime.fromisoformat(event["created_at"]).astimezone(UTC)


def tick(stack: Stack, at: datetime) -> None:
    operator(stack, "timers", "tick", "--at", at.isoformat())


def dm(slack_id: str) -> str:
    return "D" + slack_id[1:]


def actions_of(stack: Stack, expense_id: str) -> list[str]:
    return [e["action"] for e in stack.expense(expense_id)["history"]]


def blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"])


def test_a_step_is_reminded_then_escalated_then_expires(timed: Stack) -> None:
    director, director_slack = hire(timed, "director", "approver")
    boss, boss_slack = hire(timed, "boss", "approver", manager=director)
    submitter, submitter_slack = hire(timed, "ann", manager=boss)
    expense_id = timed.submit_ok(submitter, expense_body(amount="1500.00"))
    card = timed.card(expense_id)
    assert card["channel"] == dm(boss_slack)
    opened = routed_at(timed, expense_id)

    tick(timed, opened + timedelta(minutes=50))  # nothing is due yet
    tick(timed, opened + timedelta(minutes=61))
    reminder = wait_for(lambda: timed.messages(f"remind:{expense_id}:0"), what="the reminder")
    assert reminder[0]["channel"] == dm(boss_slack)
    assert "Reminder" in reminder[0]["text"]
    tick(timed, opened + timedelta(minutes=62))  # a repeated tick, as a second beat would be
    wait_for(lambda: "reminded" in actions_of(timed, expense_id), what="the reminder's event")

    tick(timed, opened + timedelta(minutes=121))
    escalated = wait_for(
        lambda: timed.messages(f"card:{expense_id}:0:escalated"), what="the escalated card"
    )
    assert escalated[0]["channel"] == dm(director_slack)
    shown = wait_for(
        lambda: "Escalated to" in blocks_text(timed.fresh_card(expense_id)) or None,
        what="the boss's card saying it escalated",
    )
    assert shown
    assert f"<@{boss_slack}> can no longer decide" in blocks_text(timed.fresh_card(expense_id))
    timed.click(boss_slack, timed.fresh_card(expense_id), ActionId.APPROVE)
    wait_for(
        lambda: any("waits on someone else" in t for t in timed.ephemerals(boss_slack)),
        what="the boss refused",
    )
    assert timed.expense(expense_id)["status"] == "pending_approval"

    tick(timed, opened + timedelta(minutes=181))
    done = timed.wait_status(expense_id, "expired")
    assert done["decisions"] == []
    assert timed.expense(expense_id, who=submitter)["status"] == "expired"
    final = timed.decided_card(expense_id)
    assert "expired" in blocks_text(final)
    assert "Rejected" not in blocks_text(final)
    notice = wait_for(lambda: timed.messages(f"dm:{expense_id}:expired"), what="Ann's DM")
    assert notice[0]["channel"] == dm(submitter_slack)
    assert "expired" in notice[0]["text"]
    assert "not rejected" in notice[0]["text"]

    history = timed.expense(expense_id)["history"]
    by_scheduler = [e for e in history if e["channel"] == "scheduler"]
    assert [e["action"] for e in by_scheduler] == ["reminded", "escalated", "expired"]
    assert len(timed.messages(f"remind:{expense_id}")) == 1
    timed.verify_audit_log()


def delegate_in_slack(stack: Stack, user: str, text: str) -> None:
    fields = slash_command(user_id=user, command="/expense-delegate", text=text, channel=dm(user))
    body, headers = signed_form(fields, stack.signing_secret)
    response = stack.http.post(f"{stack.api}/slack/events", content=body, headers=headers)
    assert response.status_code == 200, response.text


def test_a_delegate_decides_acting_for_the_approver_under_the_same_duties(timed: Stack) -> None:
    boss, boss_slack = hire(timed, "boss", "approver")
    deputy, deputy_slack = hire(timed, "deputy", "approver", "finance", manager=boss)
    submitter, _ = hire(timed, "ann", manager=boss)
    # Two steps: the boss's (the deputy decides it for them), then finance. The card is out
    # before the boss delegates: the deputy gets a copy of it then.
    expense_id = timed.submit_ok(submitter, expense_body(amount="11000.00"))
    assert timed.card(expense_id)["channel"] == dm(boss_slack)
    until = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    delegate_in_slack(timed, boss_slack, f"<@{deputy_slack}|deputy> {until}")
    wait_for(
        lambda: any("now decides your approval steps" in t for t in timed.ephemerals(boss_slack)),
        what="the delegation confirmed",
    )
    copy = wait_for(
        lambda: next(iter(timed.messages(f"card:{expense_id}:0:delegate:{deputy_slack}")), None),
        what="the deputy's copy of the card",
    )
    assert copy["channel"] == dm(deputy_slack)
    timed.click(deputy_slack, copy, ActionId.APPROVE)
    finance_card = timed.card(expense_id, 1)
    middle = timed.expense(expense_id)
    (first,) = middle["decisions"]
    assert first["slack_user_id"] == deputy_slack
    assert first["acting_for"].startswith("Boss ")
    step_approved = next(e for e in middle["history"] if e["action"] == "step_approved")
    assert step_approved["details"]["acting_for"] == boss
    assert step_approved["actor_email"] == deputy
    wait_for(
        lambda: (
            f"by <@{deputy_slack}> acting for Boss" in blocks_text(timed.fresh_card(expense_id))
            or None
        ),
        what="the card saying who acted for whom",
    )
    # Separation of duties holds for the delegate: not a second step of the same chain...
    timed.click(deputy_slack, finance_card, ActionId.APPROVE)
    wait_for(
        lambda: any("earlier step" in t for t in timed.ephemerals(deputy_slack)),
        what="the deputy refused the second step",
    )
    # ...and not their own expense, though it waits on the boss they stand in for.
    own = timed.submit_ok(deputy, expense_body(amount="1400.00", merchant="Own Co"))
    own_copy = wait_for(
        lambda: next(iter(timed.messages(f"card:{own}:0:delegate:{deputy_slack}")), None),
        what="the deputy's copy of their own expense's card",
    )
    timed.click(deputy_slack, own_copy, ActionId.APPROVE)
    wait_for(
        lambda: any("your own expense" in t for t in timed.ephemerals(deputy_slack)),
        what="the deputy refused their own expense",
    )
    assert timed.expense(own)["decisions"] == []
    assert timed.expense(expense_id)["status"] == "pending_approval"


def test_the_delegate_command_explains_itself(timed: Stack) -> None:
    _, boss_slack = hire(timed, "boss", "approver")
    delegate_in_slack(timed, boss_slack, "someone soon")
    wait_for(
        lambda: any("Usage" in t for t in timed.ephemerals(boss_slack)), what="the usage answer"
    )
    delegate_in_slack(timed, boss_slack, f"<@{boss_slack}> 2099-01-01")
    wait_for(
        lambda: any("themselves" in t for t in timed.ephemerals(boss_slack)),
        what="no delegating to oneself",
    )
