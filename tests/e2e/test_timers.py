"""Time and delegation end to end: a real API and worker, signed Slack payloads, and the clock
moved by ticks sent at future moments (`expense-bot timers tick --at`), never waited for. The
shipped policy: remind after 2 days, escalate after 4, expire after 14 (calendar time)."""

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from slack.ids import ActionId
from slack.sandbox.payloads import signed_form, slash_command
from tests.e2e.harness import Stack, expense_body, wait_for

pytestmark = pytest.mark.e2e


def hire(stack: Stack, name: str, *roles: str, manager: str | None = None) -> tuple[str, str]:
    """A new employee of this test's own, added by the admin, with a token: (email, Slack id)."""
    tag = uuid.uuid4().hex[:8]
    email, slack_id = f"{name}-{tag}@example.com", f"U{name.upper()}{tag.upper()}"
    body = {
        "name": f"{name.title()} {tag}",
        "slack_user_id": slack_id,
        "manager_email": manager,
        "roles": list(roles),
    }
    added = stack.http.put(
        f"{stack.api}/admin/employees/{email}",
        json=body,
        headers={"Authorization": f"Bearer {stack.tokens['erin']}"},
    )
    assert added.status_code == 201, added.text
    stack.tokens[email] = operator(stack, "token", "create", "--email", email).strip()
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


def test_a_step_is_reminded_then_escalated_then_expires(stack: Stack) -> None:
    director, director_slack = hire(stack, "director", "approver")
    boss, boss_slack = hire(stack, "boss", "approver", manager=director)
    submitter, submitter_slack = hire(stack, "ann", manager=boss)
    expense_id = stack.submit_ok(submitter, expense_body(amount="1500.00"))
    card = stack.card(expense_id)
    assert card["channel"] == dm(boss_slack)
    opened = routed_at(stack, expense_id)

    tick(stack, opened + timedelta(days=1))  # nothing is due yet
    tick(stack, opened + timedelta(days=2, minutes=1))
    reminder = wait_for(lambda: stack.messages(f"remind:{expense_id}:0"), what="the reminder")
    assert reminder[0]["channel"] == dm(boss_slack)
    assert "Reminder" in reminder[0]["text"]
    tick(stack, opened + timedelta(days=2, minutes=2))  # a repeated tick, as a second beat would be
    wait_for(lambda: "reminded" in actions_of(stack, expense_id), what="the reminder's event")

    tick(stack, opened + timedelta(days=4, minutes=1))
    escalated = wait_for(
        lambda: stack.messages(f"card:{expense_id}:0:escalated"), what="the escalated card"
    )
    assert escalated[0]["channel"] == dm(director_slack)
    shown = wait_for(
        lambda: "Escalated to" in blocks_text(stack.fresh_card(expense_id)) or None,
        what="the boss's card saying it escalated",
    )
    assert shown
    assert f"<@{boss_slack}> can no longer decide" in blocks_text(stack.fresh_card(expense_id))
    stack.click(boss_slack, stack.fresh_card(expense_id), ActionId.APPROVE)
    wait_for(
        lambda: any("waits on someone else" in t for t in stack.ephemerals(boss_slack)),
        what="the boss refused",
    )
    assert stack.expense(expense_id)["status"] == "pending_approval"

    tick(stack, opened + timedelta(days=14, minutes=1))
    done = stack.wait_status(expense_id, "expired")
    assert done["decisions"] == []
    assert stack.expense(expense_id, who=submitter)["status"] == "expired"
    final = stack.decided_card(expense_id)
    assert "expired" in blocks_text(final)
    assert "Rejected" not in blocks_text(final)
    notice = wait_for(lambda: stack.messages(f"dm:{expense_id}:expired"), what="Ann's DM")
    assert notice[0]["channel"] == dm(submitter_slack)
    assert "expired" in notice[0]["text"]
    assert "not rejected" in notice[0]["text"]

    history = stack.expense(expense_id)["history"]
    by_scheduler = [e for e in history if e["channel"] == "scheduler"]
    assert [e["action"] for e in by_scheduler] == ["reminded", "escalated", "expired"]
    assert len(stack.messages(f"remind:{expense_id}")) == 1
    stack.verify_audit_log()


def delegate_in_slack(stack: Stack, user: str, text: str) -> None:
    fields = slash_command(user_id=user, command="/expense-delegate", text=text, channel=dm(user))
    body, headers = signed_form(fields, stack.signing_secret)
    response = stack.http.post(f"{stack.api}/slack/events", content=body, headers=headers)
    assert response.status_code == 200, response.text


def test_a_delegate_decides_acting_for_the_approver_under_the_same_duties(stack: Stack) -> None:
    boss, boss_slack = hire(stack, "boss", "approver")
    deputy, deputy_slack = hire(stack, "deputy", "approver", "finance", manager=boss)
    submitter, _ = hire(stack, "ann", manager=boss)
    # Two steps: the boss's (the deputy decides it for them), then finance. The card is out
    # before the boss delegates: the deputy gets a copy of it then.
    expense_id = stack.submit_ok(submitter, expense_body(amount="11000.00"))
    assert stack.card(expense_id)["channel"] == dm(boss_slack)
    until = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    delegate_in_slack(stack, boss_slack, f"<@{deputy_slack}|deputy> {until}")
    wait_for(
        lambda: any("now decides your approval steps" in t for t in stack.ephemerals(boss_slack)),
        what="the delegation confirmed",
    )
    copy = wait_for(
        lambda: next(iter(stack.messages(f"card:{expense_id}:0:delegate:{deputy_slack}")), None),
        what="the deputy's copy of the card",
    )
    assert copy["channel"] == dm(deputy_slack)
    stack.click(deputy_slack, copy, ActionId.APPROVE)
    finance_card = stack.card(expense_id, 1)
    middle = stack.expense(expense_id)
    (first,) = middle["decisions"]
    assert first["slack_user_id"] == deputy_slack
    assert first["acting_for"].startswith("Boss ")
    step_approved = next(e for e in middle["history"] if e["action"] == "step_approved")
    assert step_approved["details"]["acting_for"] == boss
    assert step_approved["actor_email"] == deputy
    wait_for(
        lambda: (
            f"by <@{deputy_slack}> acting for Boss" in blocks_text(stack.fresh_card(expense_id))
            or None
        ),
        what="the card saying who acted for whom",
    )
    # Separation of duties holds for the delegate: not a second step of the same chain...
    stack.click(deputy_slack, finance_card, ActionId.APPROVE)
    wait_for(
        lambda: any("earlier step" in t for t in stack.ephemerals(deputy_slack)),
        what="the deputy refused the second step",
    )
    # ...and not their own expense, though it waits on the boss they stand in for.
    own = stack.submit_ok(deputy, expense_body(amount="1400.00", merchant="Own Co"))
    own_copy = wait_for(
        lambda: next(iter(stack.messages(f"card:{own}:0:delegate:{deputy_slack}")), None),
        what="the deputy's copy of their own expense's card",
    )
    stack.click(deputy_slack, own_copy, ActionId.APPROVE)
    wait_for(
        lambda: any("your own expense" in t for t in stack.ephemerals(deputy_slack)),
        what="the deputy refused their own expense",
    )
    assert stack.expense(own)["decisions"] == []
    assert stack.expense(expense_id)["status"] == "pending_approval"


def test_the_delegate_command_explains_itself(stack: Stack) -> None:
    _, boss_slack = hire(stack, "boss", "approver")
    delegate_in_slack(stack, boss_slack, "someone soon")
    wait_for(
        lambda: any("Usage" in t for t in stack.ephemerals(boss_slack)), what="the usage answer"
    )
    delegate_in_slack(stack, boss_slack, f"<@{boss_slack}> 2099-01-01")
    wait_for(
        lambda: any("themselves" in t for t in stack.ephemerals(boss_slack)),
        what="no delegating to oneself",
    )
