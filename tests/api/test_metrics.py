"""GET /metrics: intake by outcome, every answer by route, in Prometheus' text format."""

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.db import Database
from tests.api.helpers import Person, card_click, decisions_on, post_slack
from tests.helpers import expense_body, wait_for


def sample(client: TestClient, name: str, **labels: str) -> float:
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def test_intake_is_counted_by_outcome(client: TestClient, person: Callable[..., Person]) -> None:
    alice = person()
    before = {
        outcome: sample(client, "expense_bot_intake_total", outcome=outcome)
        for outcome in ("accepted", "duplicate", "refused")
    }
    key = {**alice.auth, "Idempotency-Key": "metrics-" + alice.slack_id}
    body = expense_body()
    assert client.post("/expenses", json=body, headers=key).status_code == 202
    assert client.post("/expenses", json=body, headers=key).status_code == 202
    assert (
        client.post("/expenses", json=expense_body(amount="x"), headers=alice.auth).status_code
        == 422
    )
    after = {o: sample(client, "expense_bot_intake_total", outcome=o) for o in before}
    assert {o: after[o] - before[o] for o in before} == {
        "accepted": 1,
        "duplicate": 1,
        "refused": 1,
    }
    timed = sample(client, "expense_bot_intake_seconds_count", outcome="accepted")
    assert timed >= 1


def test_answers_are_counted_by_route_template(
    client: TestClient, person: Callable[..., Person]
) -> None:
    alice = person()
    labels = {"method": "GET", "route": "/expenses/{expense_id}", "status": "404"}
    before = sample(client, "expense_bot_http_requests_total", **labels)
    client.get("/expenses/00000000-0000-0000-0000-000000000000", headers=alice.auth)
    assert sample(client, "expense_bot_http_requests_total", **labels) == before + 1


def test_a_human_decision_is_counted_with_how_long_its_step_waited(
    client: TestClient,
    person: Callable[..., Person],
    db: Database,
    pending_expense: Callable[..., uuid.UUID],
) -> None:
    approver = person("approver")
    expense_id = pending_expense()
    human = {"path": "human", "outcome": "approved"}
    before = sample(client, "expense_bot_decisions_total", **human)
    waited = sample(client, "expense_bot_time_to_human_decision_seconds_count", role="approver")
    assert post_slack(client, card_click(db, expense_id, approver.slack_id)).status_code == 200
    wait_for(lambda: decisions_on(db, expense_id) == 1, what="the decision")
    wait_for(
        lambda: sample(client, "expense_bot_decisions_total", **human) == before + 1,
        what="the decision to be counted",
    )
    count = sample(client, "expense_bot_time_to_human_decision_seconds_count", role="approver")
    assert count == waited + 1
