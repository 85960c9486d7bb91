"""The conversation's adapters in-process: the API routes, and Slack's signed events and clicks."""

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app import job_names
from app.db import Database
from bench.standins.server import ServerThread
from models import AuditEvent, Expense, SlackMessage
from models.base import utcnow
from slack.blocks import reason_modal
from slack.home_view import PendingItem, home_view
from slack.ids import ActionId, CallbackId, ModalRef
from slack.sandbox.payloads import (
    dm_reply,
    home_block_actions,
    home_opened,
    signed_event,
    view_submission,
)
from slack.sandbox.web_api import SandboxState
from tests.api.helpers import SIGNING_SECRET, Person, post_slack
from tests.conftest import JobRecorder
from tests.helpers import wait_for

PersonFactory = Callable[..., Person]
ExpenseFactory = Callable[..., uuid.UUID]


def status(db: Database, expense_id: uuid.UUID) -> str:
    with db.session() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        return str(expense.status)


def actions(db: Database, expense_id: uuid.UUID) -> list[tuple[str, str | None]]:
    with db.session() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.expense_id == expense_id).order_by(AuditEvent.id)
        ).all()
        return [(e.action, e.channel) for e in rows]


def ask_payload(expense_id: uuid.UUID, user: str, question: str) -> dict[str, Any]:
    modal = reason_modal(CallbackId.ASK_MODAL, ModalRef(e=expense_id, s=0, c="C0CARDS"))
    return view_submission(
        user_id=user,
        view={**modal, "id": "V0ASK", "team_id": "T0SANDBOX"},
        values={"reason": {"reason_input": question}},
        trigger_id="1.2.3",
    )


def post_event(client: TestClient, payload: dict[str, Any]) -> Any:
    body, headers = signed_event(payload, SIGNING_SECRET)
    return client.post("/slack/events", content=body, headers=headers)


def asked(client: TestClient, db: Database, expense_id: uuid.UUID, approver: Person) -> None:
    response = post_slack(client, ask_payload(expense_id, approver.slack_id, "Which client?"))
    assert response.status_code == 200
    wait_for(lambda: status(db, expense_id) == "needs_info", timeout=10, what="needs_info")


def test_an_ask_modal_submission_asks_the_submitter(
    client: TestClient,
    db: Database,
    jobs: JobRecorder,
    person: PersonFactory,
    pending_expense: ExpenseFactory,
) -> None:
    approver = person("approver")
    expense_id = pending_expense()
    asked(client, db, expense_id, approver)
    assert ("info_requested", "slack") in actions(db, expense_id)
    wait_for(lambda: job_names.ASK_SUBMITTER in jobs.names(), timeout=10, what="the DM job")


def test_an_empty_question_is_refused_inside_the_modal(
    client: TestClient, db: Database, person: PersonFactory, pending_expense: ExpenseFactory
) -> None:
    expense_id = pending_expense()
    response = post_slack(client, ask_payload(expense_id, person("approver").slack_id, "  "))
    assert response.json() == {
        "response_action": "errors",
        "errors": {"reason": "Please write a question."},
    }
    assert status(db, expense_id) == "pending_approval"


def question_sent(db: Database, expense_id: uuid.UUID, channel: str, ts: str) -> None:
    with db.session() as session:
        session.add(
            SlackMessage(
                dedupe_key=f"question:{uuid.uuid4().hex}",
                expense_id=expense_id,
                kind="question",
                channel=channel,
                ts=ts,
                sent_at=utcnow(),
            )
        )


def test_a_reply_in_the_question_thread_is_the_answer(
    client: TestClient, db: Database, person: PersonFactory, pending_expense: ExpenseFactory
) -> None:
    submitter, approver = person(), person("approver")
    expense_id = pending_expense(submitter)
    asked(client, db, expense_id, approver)
    dm = "D" + submitter.slack_id[1:]
    question_sent(db, expense_id, dm, "1700000000.000200")
    elsewhere = dm_reply(
        user_id=submitter.slack_id, channel=dm, thread_ts="1700000000.000999", text="?", ts="1.2"
    )
    assert post_event(client, elsewhere).status_code == 200
    reply = dm_reply(
        user_id=submitter.slack_id,
        channel=dm,
        thread_ts="1700000000.000200",
        text="Acme",
        ts="1700000001.000100",
    )
    assert post_event(client, reply).status_code == 200
    wait_for(lambda: status(db, expense_id) == "pending_approval", timeout=10, what="the answer")
    assert ("answered", "slack") in actions(db, expense_id)
    # The same event delivered again (Slack retries) is recorded once.
    assert post_event(client, reply).status_code == 200
    assert actions(db, expense_id).count(("answered", "slack")) == 1


def test_app_home_opened_publishes_the_home_tab(
    client: TestClient,
    person: PersonFactory,
    pending_expense: ExpenseFactory,
    slack_standin: ServerThread,
) -> None:
    approver = person("approver")
    expense_id = pending_expense()
    assert post_event(client, home_opened(user_id=approver.slack_id)).status_code == 200
    state: SandboxState = slack_standin.app.state.sandbox
    home = wait_for(lambda: state.homes.get(approver.slack_id), timeout=10, what="views.publish")
    assert str(expense_id) in str(home["blocks"])


def test_a_home_tab_click_decides(
    client: TestClient,
    db: Database,
    person: PersonFactory,
    pending_expense: ExpenseFactory,
) -> None:
    approver = person("approver")
    expense_id = pending_expense()
    item = PendingItem(str(expense_id), 0, "any approver", "x", "1.00", "USD", "m", "c")
    home = {**home_view([item], []), "id": "V0HOME"}
    button_block = next(b for b in home["blocks"] if b["type"] == "actions")
    payload = home_block_actions(
        user_id=approver.slack_id,
        view=home,
        action=button_block["elements"][0],
        block_id=button_block["block_id"],
        trigger_id="1.2.3",
    )
    assert button_block["elements"][0]["action_id"] == ActionId.APPROVE
    assert post_slack(client, payload).status_code == 200
    wait_for(lambda: status(db, expense_id) == "approved", timeout=10, what="the decision")


def test_the_submitter_answers_through_the_api(
    client: TestClient, db: Database, person: PersonFactory, pending_expense: ExpenseFactory
) -> None:
    submitter, approver = person(), person("approver")
    expense_id = pending_expense(submitter)
    asked(client, db, expense_id, approver)
    url = f"/expenses/{expense_id}/comments"
    refused = client.post(url, json={"text": "me"}, headers=approver.auth)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == "only the submitter may answer it"
    assert ("decision_refused", "api") in actions(db, expense_id)
    assert client.post(url, json={"text": " "}, headers=submitter.auth).status_code == 422
    assert (
        client.post(url, json={"text": "x", "extra": 1}, headers=submitter.auth).status_code == 422
    )
    assert client.post(url, json={"text": "x"}).status_code == 401
    missing = client.post(
        f"/expenses/{uuid.uuid4()}/comments", json={"text": "x"}, headers=submitter.auth
    )
    assert missing.status_code == 404
    answered = client.post(url, json={"text": "Acme"}, headers=submitter.auth)
    assert answered.status_code == 201
    assert answered.json() == {"id": str(expense_id), "status": "pending_approval"}


def test_the_submitter_cancels_through_the_api(
    client: TestClient,
    db: Database,
    jobs: JobRecorder,
    person: PersonFactory,
    pending_expense: ExpenseFactory,
) -> None:
    submitter, other = person(), person("auditor")
    expense_id = pending_expense(submitter)
    url = f"/expenses/{expense_id}/cancel"
    assert client.post(url, headers=other.auth).status_code == 403
    assert status(db, expense_id) == "pending_approval"
    done = client.post(url, headers=submitter.auth)
    assert done.status_code == 200
    assert done.json()["status"] == "cancelled"
    assert job_names.NOTIFY_SUBMITTER in jobs.names()
    again = client.post(url, headers=submitter.auth)
    assert again.status_code == 409
    assert again.json()["title"] == "Conflict"
