"""Comparing a recorded gate decision with what another policy decides: what changes, and why."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.gate import GateDecision

COLUMNS = (
    "expense_id",
    "submitted_at",
    "amount",
    "currency",
    "category",
    "merchant",
    "was",
    "now",
    "why",
)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the gate decided when the expense was evaluated."""

    route: str
    # The rule trace as stored; None for expenses evaluated before traces were kept.
    trace: Sequence[Mapping[str, Any]] | None


def broken_rules(trace: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {str(r["rule"]): str(r.get("detail", "")) for r in trace if not r.get("passed")}


def why_changed(recorded: Recorded, decision: GateDecision) -> str:
    """The rules that now break or no longer break; otherwise the new policy's own reasons."""
    now = broken_rules([r.as_dict() for r in decision.rule_trace])
    parts = []
    if recorded.trace is not None:
        before = broken_rules(recorded.trace)
        parts += [
            f"now breaks {rule}: {detail}" for rule, detail in now.items() if rule not in before
        ]
        parts += [f"no longer breaks {rule}" for rule in before if rule not in now]
    if not parts:
        parts = list(decision.reasons) or ["in policy, LLM confident"]
    return "; ".join(parts)


def change(recorded: Recorded, decision: GateDecision) -> str | None:
    """Why the outcome differs, or None when the new policy decides as the old one did."""
    if decision.route.value == recorded.route:
        return None
    return why_changed(recorded, decision)
