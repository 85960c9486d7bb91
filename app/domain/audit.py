"""Audit vocabulary and event content: who acted, through which channel, what they did and why."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from app.domain.advice import Advice, LlmAdvice
from app.domain.audit_chain import EventContent, Json
from app.domain.money import in_minor_units
from app.domain.policy import Policy
from app.domain.rules import RuleResult


class ActorKind(StrEnum):
    EMPLOYEE = "employee"
    SLACK_USER = "slack_user"
    LLM = "llm"
    SYSTEM = "system"
    CLI_OPERATOR = "cli_operator"


class Channel(StrEnum):
    """How the action reached the bot."""

    API = "api"
    SLACK = "slack"
    CLI = "cli"
    SCHEDULER = "scheduler"
    # The evaluation worker: the gate's decision arrives through none of the above.
    WORKER = "worker"


class AuditAction(StrEnum):
    SUBMITTED = "submitted"
    LLM_REVIEWED = "llm_reviewed"
    AUTO_APPROVED = "auto_approved"
    AUTO_REJECTED = "auto_rejected"
    ROUTED_TO_HUMAN = "routed_to_human"
    STEP_APPROVED = "step_approved"
    APPROVED = "approved"
    REJECTED = "rejected"
    COMMENTED = "commented"
    # An approver asked the submitter a question; the submitter answered; the submitter withdrew.
    INFO_REQUESTED = "info_requested"
    ANSWERED = "answered"
    CANCELLED = "cancelled"
    # The submitter uploaded a receipt file (its SHA-256 and type are in the details).
    RECEIPT_ATTACHED = "receipt_attached"
    # The rules ran again with a receipt uploaded after the gate; the status stayed.
    RECEIPT_CHECKED = "receipt_checked"
    DECISION_REFUSED = "decision_refused"
    SLACK_REQUEST_REFUSED = "slack_request_refused"
    EMPLOYEE_ADDED = "employee_added"
    TOKEN_CREATED = "token_created"
    EMPLOYEE_UPDATED = "employee_updated"
    EMPLOYEE_DEACTIVATED = "employee_deactivated"
    TOKEN_REVOKED = "token_revoked"
    # Someone was refused a read: the wrong role, or an expense that is not theirs.
    ACCESS_REFUSED = "access_refused"
    # The scheduler: an open step's approver reminded, the step passed on, the expense expired.
    REMINDED = "reminded"
    ESCALATED = "escalated"
    EXPIRED = "expired"
    # Someone's steps may be decided by a delegate until a date.
    DELEGATED = "delegated"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: `id` in the actor's own namespace, and the employee it maps to, if any."""

    kind: ActorKind
    id: str | None
    employee_id: int | None = None
    email: str | None = None

    @classmethod
    def employee(cls, employee_id: int, email: str) -> "Actor":
        return cls(ActorKind.EMPLOYEE, email, employee_id, email)

    @classmethod
    def slack_user(cls, slack_user_id: str, employee_id: int | None, email: str | None) -> "Actor":
        return cls(ActorKind.SLACK_USER, slack_user_id, employee_id, email)


POLICY_GATE = Actor(ActorKind.SYSTEM, "policy-gate")
SCHEDULER = Actor(ActorKind.SYSTEM, "scheduler")


@dataclass(frozen=True, slots=True)
class Valuation:
    """The amount at that moment, and in the policy currency with the FX rate used."""

    amount: str | None = None
    currency: str | None = None
    policy_amount: str | None = None
    policy_currency: str | None = None
    fx_rate: str | None = None


def valuation(amount: Decimal, currency: str, policy: Policy) -> Valuation:
    rate = policy.fx_rate(currency)
    converted = policy.to_policy_currency(amount, currency)
    return Valuation(
        amount=in_minor_units(amount, currency),
        currency=currency,
        policy_amount=None if converted is None else in_minor_units(converted, policy.currency),
        policy_currency=policy.currency,
        fx_rate=None if rate is None else str(rate),
    )


@dataclass(frozen=True, slots=True)
class LlmOpinion:
    """The LLM's advice as it stood for this event, or why there was none."""

    model: str | None
    recommendation: str | None = None
    confidence: float | None = None
    reasons: tuple[str, ...] | None = None
    unavailable: str | None = None

    @classmethod
    def of(cls, advice: Advice) -> "LlmOpinion":
        if isinstance(advice, LlmAdvice):
            return cls(advice.model, advice.recommendation.value, advice.confidence, advice.reasons)
        return cls(advice.model, unavailable=advice.reason)


@dataclass(frozen=True, slots=True)
class EventContext:
    """What the auditor needs to know about the decision beyond who and what."""

    valuation: Valuation = Valuation()
    policy_version: str | None = None
    rule_trace: Sequence[RuleResult] | None = None
    llm: LlmOpinion | None = None
    details: Mapping[str, Json] = field(default_factory=dict)


def _trace(results: Sequence[RuleResult] | None) -> list[dict[str, Json]] | None:
    if results is None:
        return None
    return [dict(result.as_dict()) for result in results]


def event_content(
    *,
    created_at: datetime,
    expense_id: uuid.UUID | None,
    actor: Actor,
    action: AuditAction,
    channel: Channel,
    from_status: str | None,
    to_status: str | None,
    reason: str | None,
    context: EventContext,
) -> EventContent:
    details: dict[str, Json] = dict(context.details)
    llm = context.llm
    if llm is not None and llm.unavailable is not None:
        details["llm_unavailable"] = llm.unavailable
    money = context.valuation
    return EventContent(
        created_at=created_at,
        expense_id=expense_id,
        channel=channel.value,
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_employee_id=actor.employee_id,
        actor_email=actor.email,
        action=action.value,
        from_status=from_status,
        to_status=to_status,
        amount=money.amount,
        currency=money.currency,
        policy_amount=money.policy_amount,
        policy_currency=money.policy_currency,
        fx_rate=money.fx_rate,
        reason=reason,
        policy_version=context.policy_version,
        rule_trace=_trace(context.rule_trace),
        llm_model=None if llm is None else llm.model,
        llm_recommendation=None if llm is None else llm.recommendation,
        llm_confidence=None if llm is None else llm.confidence,
        llm_reasons=None if llm is None or llm.reasons is None else list(llm.reasons),
        details=details,
    )
