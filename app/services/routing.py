"""Recording an expense's approval chain, opening its steps, and reading the step now waiting."""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.policy import Policy
from app.domain.roles import Role
from app.domain.routing import Directory, Person, StepKind, StepPlan, plan_chain
from models import ApprovalStep, Employee


def person(employee: Employee) -> Person:
    return Person(
        id=employee.id,
        name=employee.name,
        roles=frozenset(employee.roles),
        manager_id=employee.manager_id,
        department=employee.department,
        cost_center=employee.cost_center,
        active=employee.active,
    )


def _by_email(session: Session, emails: Iterable[str]) -> dict[str, Employee]:
    wanted = set(emails)
    if not wanted:
        return {}
    found = session.scalars(select(Employee).where(Employee.email.in_(wanted)))
    return {e.email: e for e in found}


def directory_for(session: Session, submitter: Employee, policy: Policy) -> Directory:
    """The people who could be named for `submitter`: their manager and the policy's approvers."""
    routing = policy.routing
    department = routing.department_approvers.get(submitter.department or "")
    cost_center = routing.cost_center_approvers.get(submitter.cost_center or "")
    named = _by_email(session, [e for e in (department, cost_center) if e])
    people = {e.id: person(e) for e in named.values()}
    if submitter.manager_id is not None:
        manager = session.get(Employee, submitter.manager_id)
        if manager is not None:
            people[manager.id] = person(manager)
    return Directory(
        people,
        {submitter.department: named[department].id}
        if submitter.department and department in named
        else {},
        {submitter.cost_center: named[cost_center].id}
        if submitter.cost_center and cost_center in named
        else {},
    )


def chain_for(
    session: Session, submitter: Employee, policy: Policy, *, needs_finance: bool
) -> tuple[StepPlan, ...]:
    directory = directory_for(session, submitter, policy)
    return plan_chain(person(submitter), directory, needs_finance=needs_finance)


def store_chain(
    session: Session, expense_id: uuid.UUID, chain: Sequence[StepPlan], now: datetime
) -> None:
    """A row per step; the first one opens now."""
    for position, plan in enumerate(chain):
        session.add(
            ApprovalStep(
                expense_id=expense_id,
                position=position,
                kind=plan.kind.value,
                role=plan.role.value,
                approver_id=plan.approver_id,
                approver_name=plan.approver_name,
                assignee_id=plan.approver_id if position == 0 else None,
                opened_at=now if position == 0 else None,
            )
        )


def plan_of(step: ApprovalStep) -> StepPlan:
    return StepPlan(StepKind(step.kind), Role(step.role), step.approver_id, step.approver_name)


def steps_of(session: Session, expense_id: uuid.UUID) -> Sequence[ApprovalStep]:
    return session.scalars(
        select(ApprovalStep)
        .where(ApprovalStep.expense_id == expense_id)
        .order_by(ApprovalStep.position)
    ).all()


def step_at(session: Session, expense_id: uuid.UUID, position: int) -> ApprovalStep | None:
    return session.scalar(
        select(ApprovalStep).where(
            ApprovalStep.expense_id == expense_id, ApprovalStep.position == position
        )
    )


def open_next(session: Session, expense_id: uuid.UUID, position: int, now: datetime) -> None:
    """The chain moved on to `position`: its clock starts, and it waits on its approver."""
    step = step_at(session, expense_id, position)
    if step is not None and step.opened_at is None:
        step.opened_at = now
        step.assignee_id = step.approver_id
