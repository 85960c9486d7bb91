"""Helpers every kind of test shares: a valid expense body, and polling with a deadline."""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")
RECEIPT_HOST = "files.example"


def wait_for(probe: Callable[[], T | None], *, timeout: float = 30, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def expense_body(**overrides: Any) -> dict[str, Any]:
    """A valid expense as an employee would submit it, two days ago, with a receipt link.

    Each call is a claim of its own (its own merchant and receipt link), so the policy's
    duplicate rule links two of them only when a test asks for it.
    """
    tag = uuid.uuid4().hex[:8]
    body: dict[str, Any] = {
        "amount": "120.00",
        "currency": "USD",
        "category": "travel",
        "merchant": f"Rail Co {tag}",
        "description": "Train to the client site",
        "receipt_url": f"https://{RECEIPT_HOST}/{tag}.pdf",
        "incurred_on": (datetime.now(UTC).date() - timedelta(days=2)).isoformat(),
    }
    body.update(overrides)
    return body
