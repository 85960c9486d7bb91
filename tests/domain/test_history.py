"""An expense's history: which earlier claims are duplicates, and the month's spend per category."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from app.domain.history import PastExpense, history_for, receipt_sha256
from app.domain.workflow import Status
from app.policy_loader import load_policy
from app.settings import DEFAULT_POLICY_FILE

POLICY = load_policy(DEFAULT_POLICY_FILE)
T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
NEW = PastExpense(
    "new", 1, Decimal("80.00"), "USD", "Rail Co", "meals", date(2026, 11, 20),
    receipt_sha256("https://files.example/a.pdf"), Status.SUBMITTED, T0,
)  # fmt: skip


def earlier(name: str, **changes: object) -> PastExpense:
    base = replace(NEW, id=name, status=Status.APPROVED, created_at=T0 - timedelta(hours=1))
    return replace(base, **{"receipt_sha256": None, **changes})  # type: ignore[arg-type]


def test_same_submitter_amount_and_merchant_within_the_window_is_a_duplicate() -> None:
    others = [
        earlier("same", merchant=" rail co "),
        earlier("edge", incurred_on=date(2026, 10, 21)),  # 30 days before
        earlier("too-old", incurred_on=date(2026, 10, 20)),
        earlier("other-amount", amount=Decimal("80.01")),
        earlier("other-person", submitter_id=2),
        earlier("rejected", status=Status.REJECTED),
        earlier("later", created_at=T0 + timedelta(seconds=1)),
    ]
    assert history_for(POLICY, NEW, others).duplicates == ("same", "edge")


def test_the_same_receipt_is_a_duplicate_whoever_claimed_it_and_whenever() -> None:
    key = NEW.receipt_sha256
    others = [
        earlier("long-ago", submitter_id=9, incurred_on=date(2020, 1, 1), receipt_sha256=key),
        earlier("cancelled", receipt_sha256=key, status=Status.CANCELLED),
    ]
    assert history_for(POLICY, NEW, others).same_receipt == ("long-ago",)
    assert history_for(POLICY, replace(NEW, receipt_sha256=None), others).same_receipt == ()


def test_month_spent_sums_approved_and_pending_in_the_category_and_month() -> None:
    others = [
        earlier("a", amount=Decimal("100"), merchant="x"),
        earlier("b", amount=Decimal("10"), currency="EUR", merchant="y", status=Status.NEEDS_INFO),
        earlier("c", amount=Decimal("5"), status=Status.PENDING_APPROVAL, merchant="z"),
        earlier("other-month", amount=Decimal("1000"), incurred_on=date(2026, 10, 31)),
        earlier("other-category", amount=Decimal("1000"), category="travel"),
        earlier("still-submitted", amount=Decimal("1000"), status=Status.SUBMITTED),
        earlier("rejected", amount=Decimal("1000"), status=Status.REJECTED),
    ]
    assert history_for(POLICY, NEW, others).month_spent == Decimal("115.80")
    unknown = [*others, earlier("chf", currency="CHF", merchant="w")]
    assert history_for(POLICY, NEW, unknown).month_spent is None
