"""One expense's story as a viewer may see it: auditors see every event whole; the submitter sees
names instead of colleagues' emails, no security refusals, and the model's reasons only if the
policy shows them."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.domain.audit import ActorKind, AuditAction

# Refusals are security records about other people's attempts: for auditors only.
AUDITOR_ONLY_ACTIONS = frozenset(
    {
        AuditAction.DECISION_REFUSED.value,
        AuditAction.SLACK_REQUEST_REFUSED.value,
        AuditAction.ACCESS_REFUSED.value,
    }
)


@dataclass(frozen=True, slots=True)
class Viewer:
    sees_everything: bool
    sees_ai_reasons: bool


AUDITOR = Viewer(sees_everything=True, sees_ai_reasons=True)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    id: int
    seq: int
    hash: str
    created_at: datetime
    action: str
    channel: str
    actor: str
    actor_kind: str
    actor_id: str | None
    actor_email: str | None
    from_status: str | None
    to_status: str | None
    reason: str | None
    amount: str | None
    currency: str | None
    policy_amount: str | None
    policy_currency: str | None
    fx_rate: str | None
    policy_version: str | None
    rule_trace: list[dict[str, Any]] | None
    llm_model: str | None
    llm_recommendation: str | None
    llm_confidence: float | None
    llm_reasons: list[str] | None
    details: dict[str, Any] | None


def actor_label(kind: str, actor_id: str | None, name: str | None) -> str:
    """Who acted, in words: a person's name where the actor maps to an employee."""
    if name:
        return name
    if kind == ActorKind.EMPLOYEE.value:
        return "An employee"  # never the id: for an employee it is an email
    if kind == ActorKind.LLM.value:
        return f"AI reviewer ({actor_id})" if actor_id else "AI reviewer"
    if kind == ActorKind.SYSTEM.value:
        return "Policy gate" if actor_id == "policy-gate" else f"System ({actor_id})"
    if kind == ActorKind.SLACK_USER.value:
        return f"Slack user {actor_id} (not linked to an employee)"
    if kind == ActorKind.CLI_OPERATOR.value:
        return f"Operator {actor_id} (command line)"
    return actor_id or kind


def visible(entry: TimelineEntry, viewer: Viewer) -> bool:
    return viewer.sees_everything or entry.action not in AUDITOR_ONLY_ACTIONS


def scoped(entry: TimelineEntry, viewer: Viewer) -> TimelineEntry:
    """The entry with what this viewer may not see blanked out."""
    if viewer.sees_everything:
        return entry
    # The model's reasons travel in `llm_reasons` and, on its own review event, in `reason`.
    own_review = entry.action == AuditAction.LLM_REVIEWED.value
    hide_reasons = not viewer.sees_ai_reasons
    return replace(
        entry,
        actor_id=None,
        actor_email=None,
        details=None,
        llm_reasons=None if hide_reasons else entry.llm_reasons,
        reason=None if hide_reasons and own_review else entry.reason,
    )


def story(entries: list[TimelineEntry], viewer: Viewer) -> list[TimelineEntry]:
    """The entries this viewer may see, in the order they happened, scoped."""
    return [scoped(entry, viewer) for entry in entries if visible(entry, viewer)]
