"""Recording the gate's outcome for a submitted expense, with its audit trail and follow-up jobs."""

import uuid
from dataclasses import replace

from sqlalchemy.orm import Session

from app import job_names
from app.db import enqueue_after_commit
from app.domain.advice import Advice, LlmAdvice, review_record
from app.domain.audit import (
    POLICY_GATE,
    Actor,
    ActorKind,
    AuditAction,
    Channel,
    EventContext,
    LlmOpinion,
    valuation,
)
from app.domain.audit_chain import Json
from app.domain.gate import GateDecision, Route
from app.domain.history import History, category_key
from app.domain.policy import Policy
from app.domain.receipts import counts_as_receipt
from app.domain.roles import Role
from app.domain.routing import StepPlan
from app.domain.rules import ExpenseFacts
from app.domain.workflow import Action, Status
from app.services import audit, policy_versions
from app.services.routing import chain_for, store_chain
from app.services.transitions import apply_transition
from models import Employee, Expense
from models.base import utcnow


def facts_of(expense: Expense, policy: Policy, history: History | None = None) -> ExpenseFacts:
    """What the rules read: an uploaded receipt counts, a link only on a host the policy allows."""
    counted = counts_as_receipt(expense.receipt_url, policy.receipt_hosts)
    return ExpenseFacts(
        amount=expense.amount,
        currency=expense.currency,
        category=category_key(expense.category),
        has_receipt=counted or expense.receipt_content_type is not None,
        uncounted_receipt_link=bool(expense.receipt_url) and not counted,
        merchant=expense.merchant,
        description=expense.description,
        incurred_on=expense.incurred_on,
        history=history or History(),
    )


GATE_ACTIONS = {
    Route.AUTO_APPROVE: (Action.AUTO_APPROVE, AuditAction.AUTO_APPROVED, Status.APPROVED),
    Route.AUTO_REJECT: (Action.AUTO_REJECT, AuditAction.AUTO_REJECTED, Status.REJECTED),
    Route.HUMAN: (Action.ROUTE_TO_HUMAN, AuditAction.ROUTED_TO_HUMAN, Status.PENDING_APPROVAL),
}


def record_gate_decision(
    session: Session, expense_id: uuid.UUID, decision: GateDecision, advice: Advice, policy: Policy
) -> bool:
    """Apply the gate's route to a still-submitted expense. False if it was already evaluated."""
    expense = session.get(Expense, expense_id)
    if expense is None or expense.status != Status.SUBMITTED.value:
        return False
    human = decision.route is Route.HUMAN
    chain: tuple[StepPlan, ...] = ()
    if human:
        submitter = session.get(Employee, expense.submitter_id)
        assert submitter is not None  # foreign key
        chain = chain_for(session, submitter, policy, needs_finance=Role.FINANCE in decision.steps)
    details: dict[str, Json] = {"steps": [step.label for step in chain]}
    if policy.source_sha256 is not None:
        # Names the exact text the rules came from; policy_versions keeps that text.
        details["policy_sha256"] = policy.source_sha256
    if decision.would_be is not None:
        details["shadow_mode_would_be"] = decision.would_be.value
    # Read before the transition, which expires the loaded expense.
    context = EventContext(
        valuation=valuation(expense.amount, expense.currency, policy),
        policy_version=policy.version,
        rule_trace=decision.rule_trace,
        llm=LlmOpinion.of(advice),
        details=details,
    )
    action, audit_action, to_status = GATE_ACTIONS[decision.route]
    won = apply_transition(
        session,
        expense,
        action,
        steps=[step.role.value for step in chain],
        current_step=0,
        route_reasons=list(decision.reasons),
        policy_version=policy.version,
        llm_advice=advice,
        gate_route=decision.route.value,
        policy_sha256=policy.source_sha256,
        rule_trace=[dict(r.as_dict()) for r in decision.rule_trace],
    )
    if not won:
        return False
    store_chain(session, expense_id, chain, utcnow())
    if isinstance(advice, LlmAdvice):
        audit.record(
            session,
            expense_id=expense_id,
            actor=Actor(ActorKind.LLM, advice.model),
            action=AuditAction.LLM_REVIEWED,
            channel=Channel.WORKER,
            reason="; ".join(advice.reasons) or None,
            context=replace(context, details={**details, "llm_review": review_record(advice)}),
        )
    gate_event = audit.record(
        session,
        expense_id=expense_id,
        actor=POLICY_GATE,
        action=audit_action,
        channel=Channel.WORKER,
        from_status=Status.SUBMITTED.value,
        to_status=to_status.value,
        reason="; ".join(decision.reasons) or "in policy, LLM confident",
        context=context,
    )
    policy_versions.remember(session, policy, gate_event.created_at)
    if human:
        enqueue_after_commit(session, job_names.POST_APPROVAL_CARD, str(expense_id), 0)
    else:
        enqueue_after_commit(session, job_names.NOTIFY_SUBMITTER, str(expense_id))
    return True
