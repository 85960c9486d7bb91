"""The directory in the database: reading it whole, applying a plan, deactivating, listing."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, text, update
from sqlalchemy.orm import Session, aliased

from app.domain.audit import Actor, AuditAction, Channel, EventContext
from app.domain.audit_chain import Json
from app.domain.directory import PersonRecord
from app.domain.directory_plan import Outcome, Plan, PlannedChange, Value
from app.domain.errors import NotFound
from app.services import audit
from app.services.employees import find_by_email
from models import Employee

# Any fixed key will do: it only has to be the same for every directory writer.
DIRECTORY_LOCK_KEY = 7_414_531_870_241


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """An employee as the directory shows them, with their manager's email."""

    id: int
    email: str
    name: str
    slack_user_id: str | None
    manager_email: str | None
    department: str | None
    cost_center: str | None
    roles: list[str]
    active: bool
    created_at: datetime

    def record(self) -> PersonRecord:
        return PersonRecord(
            email=self.email,
            name=self.name,
            slack_user_id=self.slack_user_id,
            manager_email=self.manager_email,
            department=self.department,
            cost_center=self.cost_center,
            roles=tuple(self.roles),
        )


def lock_directory(session: Session) -> None:
    """Directory writers take turns until their transaction ends, so each plans on the latest.

    SQLite already allows one writer at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DIRECTORY_LOCK_KEY})


def stored_people(session: Session) -> dict[str, PersonRecord]:
    """The whole directory, keyed by email: a loop of managers can run through anyone."""
    return {entry.email: entry.record() for entry in _listing(session, limit=None)}


def _json(value: Value) -> Json:
    return list(value) if isinstance(value, tuple) else value


def _record_change(
    session: Session, employee: Employee, change: PlannedChange, actor: Actor, channel: Channel
) -> None:
    action = (
        AuditAction.EMPLOYEE_ADDED
        if change.outcome is Outcome.ADDED
        else AuditAction.EMPLOYEE_UPDATED
    )
    changes: dict[str, Json] = {
        name: {"from": _json(before), "to": _json(after)}
        for name, (before, after) in change.changes.items()
    }
    details: dict[str, Json] = {
        "employee_id": employee.id,
        "email": employee.email,
        "changes": changes,
    }
    audit.record(
        session,
        expense_id=None,
        actor=actor,
        action=action,
        channel=channel,
        context=EventContext(details=details),
    )


def apply_plan(session: Session, plan: Plan, *, actor: Actor, channel: Channel) -> None:
    """Write what the plan adds and updates, with an audit event for each employee."""
    changing = [c for c in plan.changes if c.outcome is not Outcome.UNCHANGED]
    if not changing:
        return
    emails = [c.record.email for c in changing]
    people = {
        e.email: e for e in session.scalars(select(Employee).where(Employee.email.in_(emails)))
    }
    # Slack ids may move from one person to another in one change (even swap), so the old
    # ones are let go first; the unique constraint would refuse the moves otherwise.
    for change in changing:
        moving = people.get(change.record.email)
        if moving is not None and "slack_user_id" in change.changes:
            moving.slack_user_id = None
    session.flush()
    for change in changing:
        record = change.record
        employee = people.get(record.email)
        if employee is None:
            employee = people[record.email] = Employee(email=record.email)
            session.add(employee)
        employee.name = record.name
        employee.slack_user_id = record.slack_user_id
        employee.department = record.department
        employee.cost_center = record.cost_center
        employee.roles = list(record.roles)
    session.flush()
    # Managers are linked once everyone exists: a row may name a manager from a later row.
    managers = {c.record.manager_email for c in changing if c.record.manager_email}
    found = session.execute(select(Employee.email, Employee.id).where(Employee.email.in_(managers)))
    manager_ids = {row.email: row.id for row in found}
    for change in changing:
        manager_email = change.record.manager_email
        people[change.record.email].manager_id = (
            manager_ids[manager_email] if manager_email else None
        )
    session.flush()
    for change in changing:
        _record_change(session, people[change.record.email], change, actor, channel)


def deactivate(session: Session, email: str, *, actor: Actor, channel: Channel) -> bool:
    """Deactivate an employee; False if they already were. Their history stays as it is."""
    employee = find_by_email(session, email)
    if employee is None:
        raise NotFound(f"no employee with email {email.strip().lower()}")
    # Conditional, so that two deactivations at once write one audit event.
    stmt = (
        update(Employee)
        .where(Employee.id == employee.id, Employee.active.is_(True))
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    changed = session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
    session.refresh(employee)
    if not changed:
        return False
    audit.record(
        session,
        expense_id=None,
        actor=actor,
        action=AuditAction.EMPLOYEE_DEACTIVATED,
        channel=channel,
        context=EventContext(details={"employee_id": employee.id, "email": employee.email}),
    )
    return True


def _listing(
    session: Session, *where: ColumnElement[bool], limit: int | None
) -> list[DirectoryEntry]:
    manager = aliased(Employee)
    stmt = (
        select(Employee, manager.email)
        .outerjoin(manager, Employee.manager_id == manager.id)
        .where(*where)
        .order_by(Employee.id)
        .limit(limit)
    )
    return [
        DirectoryEntry(
            id=e.id,
            email=e.email,
            name=e.name,
            slack_user_id=e.slack_user_id,
            manager_email=manager_email,
            department=e.department,
            cost_center=e.cost_center,
            roles=sorted(e.roles),
            active=e.active,
            created_at=e.created_at,
        )
        for e, manager_email in session.execute(stmt).all()
    ]


def listed(
    session: Session, *, after_id: int | None = None, limit: int | None = None
) -> Sequence[DirectoryEntry]:
    """Employees in id order, after the cursor `after_id`."""
    where = [Employee.id > after_id] if after_id is not None else []
    return _listing(session, *where, limit=limit)


def listed_one(session: Session, email: str) -> DirectoryEntry:
    found = _listing(session, Employee.email == email.strip().lower(), limit=1)
    if not found:
        raise NotFound(f"no employee with email {email.strip().lower()}")
    return found[0]
