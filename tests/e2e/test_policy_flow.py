"""The policy's clauses through the real API and worker: auto-rejection and duplicates."""

import pytest

from tests.e2e.harness import Stack
from tests.helpers import expense_body, wait_for

pytestmark = pytest.mark.e2e


def test_a_merchant_the_policy_rejects_is_rejected_without_a_card(stack: Stack) -> None:
    expense_id = stack.submit_ok("alice", expense_body(amount="45.00", merchant="Royal Casino"))
    done = stack.wait_status(expense_id, "rejected")
    assert done["decisions"] == []
    assert [e["action"] for e in done["history"]] == ["submitted", "llm_reviewed", "auto_rejected"]
    gate = done["history"][-1]
    assert "forbidden merchant: casino" in gate["reason"]
    assert any(
        r["rule"] == "forbidden_merchant" and r["action"] == "reject" for r in gate["rule_trace"]
    )
    dm = wait_for(lambda: stack.messages(f"dm:{expense_id}"), what="DM to Alice")
    assert "rejected automatically under policy" in dm[0]["text"]
    assert stack.messages(f"card:{expense_id}") == []


def test_the_same_claim_twice_goes_to_a_human_the_second_time(stack: Stack) -> None:
    body = expense_body(amount="46.00")
    first = stack.submit_ok("alice", body)
    assert stack.wait_status(first, "approved")["decisions"] == []
    again = stack.submit_ok("alice", {**body, "description": "Train to the client, again"})
    stack.card(again)
    reasons = stack.expense(again)["route_reasons"]
    assert any("rule duplicate" in r and first in r for r in reasons), reasons
    assert any("same receipt as " + first in r for r in reasons), reasons
