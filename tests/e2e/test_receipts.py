"""A receipt uploaded to a waiting expense, end to end: real API and worker processes, the
OpenAI stand-in reading it (OPENAI_VISION), the card redrawn with the mismatch and a signed link.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.standins.server import ServerThread
from tests.e2e.conftest import postgres_stack
from tests.e2e.harness import Stack, expense_body, wait_for
from tests.receipt_files import png

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, openai_standin: ServerThread, redis_url: str
) -> Iterator[Stack]:
    yield from postgres_stack(
        tmp_path_factory.mktemp("receipts"), openai_standin, redis_url, OPENAI_VISION="true"
    )


def card_text(stack: Stack, expense_id: str, words: str) -> str:
    def probe() -> str | None:
        text = json.dumps(stack.fresh_card(expense_id)["blocks"])
        return text if words in text else None

    return wait_for(probe, what=f"card {expense_id} showing {words!r}")


def test_a_receipt_that_contradicts_the_claim_shows_on_the_card(stack: Stack) -> None:
    day = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
    body = expense_body(amount="1500.00", merchant="Grand Hotel", incurred_on=day)
    expense_id = stack.submit_ok("alice", body)
    stack.card(expense_id)
    figures = {"total": "1900.00", "currency": "USD", "date": day, "merchant": "Grand Hotel"}
    image = png(figures)
    response = stack.http.post(
        f"{stack.api}/expenses/{expense_id}/receipt",
        files={"file": ("hotel.jpg", image, "image/jpeg")},
        headers={"Authorization": f"Bearer {stack.tokens['alice']}"},
    )
    assert response.status_code == 201, response.text
    text = card_text(stack, expense_id, "total 1900.00 on the receipt, 1500.00 claimed")
    assert "open uploaded receipt (PNG)" in text
    assert str(stack.workdir) not in text
    link = text.split("/receipts/", 1)[1].split("|", 1)[0]
    served = stack.http.get(f"{stack.api}/receipts/{link}")
    assert served.status_code == 200
    assert served.content == image
    history: list[dict[str, Any]] = stack.expense(expense_id)["history"]
    checked = next(e for e in history if e["action"] == "receipt_checked")
    assert checked["to_status"] == "pending_approval"
    stack.verify_audit_log()
