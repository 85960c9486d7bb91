"""Attaching an uploaded receipt to an expense: its hash feeds the duplicate rule; cards redraw."""

import uuid
from enum import StrEnum

from sqlalchemy.orm import Session

from app import job_names
from app.db import enqueue_after_commit
from app.domain.audit import POLICY_GATE, Actor, AuditAction, Channel, EventContext
from app.domain.errors import NotFound
from app.domain.gate import GateDecision
from app.domain.policy import Policy
from app.domain.receipt_files import ReceiptType
from app.domain.workflow import Status
from app.services import audit
from app.services.refresh import refresh_cards
from models import Employee, Expense
from models.base import utcnow

# Until it is decided: before evaluation the rules read it; while waiting, approvers see it.
WAITING_FOR_HUMAN = frozenset({Status.PENDING_APPROVAL, Status.NEEDS_INFO})
ATTACHABLE = WAITING_FOR_HUMAN | {Status.SUBMITTED}


class Attached(StrEnum):
    ATTACHED = "attached"
    NOT_SUBMITTER = "not_submitter"
    CLOSED = "closed"


def may_attach(session: Session, expense_id: uuid.UUID, employee: Employee) -> Attached:
    """Checked before the file is stored, so a refused upload leaves nothing behind."""
    expense = session.get(Expense, expense_id)
    if expense is None:
        raise NotFound("no such expense")
    if expense.submitter_id != employee.id:
        return Attached.NOT_SUBMITTER
    return Attached.ATTACHED if Status(expense.status) in ATTACHABLE else Attached.CLOSED


def attach(
    session: Session,
    expense_id: uuid.UUID,
    employee: Employee,
    *,
    sha256: str,
    receipt_type: ReceiptType,
    size: int,
) -> Attached:
    """Record the stored file as the expense's receipt; a later upload replaces an earlier one."""
    outcome = may_attach(session, expense_id, employee)
    if outcome is not Attached.ATTACHED:
        return outcome
    # Locked, so a concurrent decision cannot close the expense between the check and the write.
    expense = session.get(Expense, expense_id, with_for_update=True, populate_existing=True)
    assert expense is not None
    if Status(expense.status) not in ATTACHABLE:
        return Attached.CLOSED
    replaced = expense.receipt_sha256 if expense.receipt_content_type else None
    expense.receipt_sha256 = sha256
    expense.receipt_content_type = receipt_type.value
    expense.updated_at = utcnow()
    details = {"sha256": sha256, "content_type": receipt_type.value, "bytes": size}
    audit.record(
        session,
        expense_id=expense.id,
        actor=Actor.employee(employee.id, employee.email),
        action=AuditAction.RECEIPT_ATTACHED,
        channel=Channel.API,
        from_status=expense.status,
        to_status=expense.status,
        context=EventContext(details={**details, "replaced": replaced}),
    )
    session.flush()
    if expense.status != Status.SUBMITTED.value:
        refresh_cards(session, expense)
    enqueue_after_commit(session, job_names.CHECK_RECEIPT, str(expense.id), sha256)
    return Attached.ATTACHED


def is_current(expense: Expense, sha256: str) -> bool:
    """Still the expense's uploaded receipt: a later upload makes an earlier check moot."""
    return expense.receipt_content_type is not None and expense.receipt_sha256 == sha256


def record_check(
    session: Session, expense_id: uuid.UUID, sha256: str, decision: GateDecision, policy: Policy
) -> bool:
    """Store the rules' results with the receipt, if they changed; False if nothing did."""
    expense = session.get(Expense, expense_id, with_for_update=True, populate_existing=True)
    if expense is None or not is_current(expense, sha256):
        return False
    if Status(expense.status) not in WAITING_FOR_HUMAN:
        return False
    trace = [dict(r.as_dict()) for r in decision.rule_trace]
    # A redelivered job finds its own result already stored.
    if trace == expense.rule_trace and list(decision.reasons) == expense.route_reasons:
        return False
    expense.rule_trace = trace
    expense.route_reasons = list(decision.reasons)
    expense.updated_at = utcnow()
    audit.record(
        session,
        expense_id=expense.id,
        actor=POLICY_GATE,
        action=AuditAction.RECEIPT_CHECKED,
        channel=Channel.WORKER,
        from_status=expense.status,
        to_status=expense.status,
        reason="; ".join(decision.reasons) or None,
        context=EventContext(
            policy_version=policy.version,
            rule_trace=decision.rule_trace,
            details={"sha256": sha256},
        ),
    )
    refresh_cards(session, expense)
    return True
