"""The evaluation task reads a receipt uploaded before the gate: the real task function, the
real openai client against the stand-in, PostgreSQL; only the process's runtime is this test's."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from app.db import Database
from app.domain.receipt_files import ReceiptType
from app.llm.reviewer import OpenAIReviewer
from app.receipt_store import ReceiptStore
from app.services import expenses, receipts
from app.services.employees import add_employee
from app.services.expenses import NewExpense
from app.settings import Settings
from bench.standins.openai_standin import EXPECTED_KEY, create_openai_standin
from bench.standins.server import ServerThread
from models import Expense
from slack.client import make_web_client
from tasks import evaluation
from tasks.runtime import Runtime
from tests.receipt_files import png


def test_a_receipt_uploaded_before_the_gate_is_read_by_the_evaluation(
    db: Database, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = datetime.now(UTC).date() - timedelta(days=1)
    with ServerThread(create_openai_standin()) as standin:
        settings = Settings(
            _env_file=None,
            app_env="development",
            database_url=postgres_url,
            receipts_dir=tmp_path,
            openai_base_url=f"{standin.url}/v1",
            openai_api_key=EXPECTED_KEY,
            openai_model="standin-model",
            openai_vision=True,
        )
        rt = Runtime(
            settings, db, make_web_client(settings), OpenAIReviewer(settings), ThreadPoolExecutor(2)
        )
        monkeypatch.setattr(evaluation, "runtime", lambda: rt)
        tag = uuid.uuid4().hex[:8]
        data = png({"total": "88.00", "currency": "USD", "date": str(day), "merchant": "Cab Co"})
        sha256 = ReceiptStore(tmp_path).save(data)
        with db.session() as session:
            owner = add_employee(session, email=f"{tag}@corp.example", name=f"P {tag}")
            claim = NewExpense(Decimal("42.00"), "USD", "travel", "Cab Co", "Taxi", day)
            expense, _ = expenses.submit(session, owner, claim, None)
            outcome = receipts.attach(
                session,
                expense.id,
                owner,
                sha256=sha256,
                receipt_type=ReceiptType.PNG,
                size=len(data),
            )
        assert outcome is receipts.Attached.ATTACHED
        assert evaluation.evaluate_expense(str(expense.id)) == "human"
    with db.session() as session:
        stored = session.get(Expense, expense.id)
        assert stored is not None
        trace = {r["rule"]: r for r in stored.rule_trace or []}
        reasons = stored.route_reasons
    assert trace["receipt_matches"]["passed"] is False
    assert trace["receipt_matches"]["figure"] == f"88.00 USD, {day}, Cab Co"
    assert trace["receipt_present"]["passed"] is True
    assert "rule receipt_matches: total 88.00 on the receipt, 42.00 claimed" in reasons
