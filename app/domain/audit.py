"""Audit vocabulary: who acted and what they did. Events are written once and never updated."""

from enum import StrEnum


class ActorKind(StrEnum):
    EMPLOYEE = "employee"
    SLACK_USER = "slack_user"
    LLM = "llm"
    SYSTEM = "system"


class AuditAction(StrEnum):
    SUBMITTED = "submitted"
    LLM_REVIEWED = "llm_reviewed"
    AUTO_APPROVED = "auto_approved"
    ROUTED_TO_HUMAN = "routed_to_human"
    STEP_APPROVED = "step_approved"
    APPROVED = "approved"
    REJECTED = "rejected"
    COMMENTED = "commented"
    DECISION_REFUSED = "decision_refused"
    SLACK_REQUEST_REFUSED = "slack_request_refused"
