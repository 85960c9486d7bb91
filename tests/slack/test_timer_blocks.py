"""Cards and notices for timers and delegation, and reading the /expense-delegate command."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime

from app.domain.workflow import Status
from slack.blocks import DecisionView, EscalationView, approval_card, reminder_text
from slack.listeners.commands import parse_delegation
from tests.slack.cards import view as card_view

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
VIEW = card_view()


def test_an_escalated_card_names_both_people_and_keeps_its_buttons() -> None:
    view = replace(
        VIEW,
        escalation=EscalationView(AT, "Dee <Director>", "U0DEE", "Bob", "U0BOB"),
    )
    text = json.dumps(approval_card(view))
    assert "Escalated to <@U0DEE> at 2026-12-01 09:30 UTC" in text
    assert "<@U0BOB> can no longer decide this step" in text
    assert any(block["type"] == "actions" for block in approval_card(view))


def test_a_delegates_decision_says_for_whom() -> None:
    decided = DecisionView(0, "approver", "approve", "U0CAROL", None, AT, acting_for="Bob <B>")
    view = replace(VIEW, status=Status.APPROVED, decisions=(decided,))
    assert "by <@U0CAROL> acting for Bob &lt;B&gt; at" in json.dumps(approval_card(view))


def test_an_expired_card_says_expired_never_rejected() -> None:
    card = json.dumps(approval_card(replace(VIEW, status=Status.EXPIRED)))
    assert "expired: nobody decided in time" in card
    assert "Not a rejection" in card
    assert "Rejected" not in card
    assert "expense_reject" not in card  # no buttons on a closed step


def test_reminders_escape_what_people_typed() -> None:
    text = reminder_text(replace(VIEW, merchant="<!channel> & Co"), AT)
    assert "&lt;!channel&gt; &amp; Co" in text
    assert "since 2026-12-01 09:30 UTC" in text


def test_the_delegate_command_reads_a_mention_or_an_email_and_a_date() -> None:
    assert parse_delegation("<@U0CAROL|carol> 2026-12-24") == ("U0CAROL", date(2026, 12, 24))
    assert parse_delegation(" carol@corp.example until 2026-12-24 ") == (
        "carol@corp.example",
        date(2026, 12, 24),
    )
    for bad in ("", "@carol 2026-12-24", "<@U0CAROL> tomorrow", "<@U0CAROL> 2026-13-01"):
        assert parse_delegation(bad) is None
