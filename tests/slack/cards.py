"""A card's data for block-builder tests: a pending expense, overridable field by field."""

from app.domain.advice import LlmAdvice, Recommendation
from app.domain.workflow import Status
from slack.blocks import CardView

EXPENSE_ID = "6f1c1f0e-8b4c-4d7e-9a57-1f0d2f9f6a11"


def view(**overrides: object) -> CardView:
    base: dict[str, object] = {
        "expense_id": EXPENSE_ID,
        "step": 0,
        "steps": ("approver",),
        "status": Status.PENDING_APPROVAL,
        "current_step": 0,
        "submitter_name": "Alice",
        "submitter_slack_id": "U0ALICE",
        "amount": "42.50",
        "currency": "USD",
        "category": "meals",
        "merchant": "Cafe",
        "incurred_on": "2026-11-20",
        "description": "Team lunch",
        "receipt_url": None,
        "receipt_counted": False,
        "route_reasons": ("amount over limit",),
        "llm_advice": LlmAdvice(Recommendation.APPROVE, 0.9, ("ok",), "m"),
        "policy_version": "v1",
    }
    base.update(overrides)
    return CardView(**base)  # type: ignore[arg-type]
