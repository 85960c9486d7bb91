"""Employees and API tokens: adding people, issuing tokens, resolving a bearer token."""

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BindParameter, Select, select, update
from sqlalchemy.orm import Session

from app.domain.audit import Actor, AuditAction, Channel, EventContext
from app.domain.errors import DomainError, NotFound
from app.domain.roles import Role
from app.services import audit
from models import ApiToken, Employee
from models.base import utcnow

TOKEN_PREFIX = "ebt_"


class EmployeeExists(DomainError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_by_email(session: Session, email: str) -> Employee | None:
    return session.scalar(select(Employee).where(Employee.email == email.strip().lower()))


def find_by_slack_id(session: Session, slack_user_id: str) -> Employee | None:
    return session.scalar(select(Employee).where(Employee.slack_user_id == slack_user_id))


def add_employee(
    session: Session,
    *,
    email: str,
    name: str,
    slack_user_id: str | None = None,
    roles: Iterable[str] = (),
    manager_email: str | None = None,
) -> Employee:
    email = email.strip().lower()
    if "@" not in email:
        raise DomainError(f"{email!r} is not an email address")
    if find_by_email(session, email) is not None:
        raise EmployeeExists(f"an employee with email {email} already exists")
    if slack_user_id and find_by_slack_id(session, slack_user_id) is not None:
        raise EmployeeExists(f"Slack user {slack_user_id} is already linked to an employee")
    role_values = sorted({Role(r).value for r in (*roles, Role.EMPLOYEE)})
    manager_id = None
    if manager_email:
        manager = find_by_email(session, manager_email)
        if manager is None:
            raise NotFound(f"no employee with email {manager_email}")
        manager_id = manager.id
    employee = Employee(
        email=email,
        name=name,
        slack_user_id=slack_user_id,
        roles=role_values,
        manager_id=manager_id,
    )
    session.add(employee)
    session.flush()
    return employee


def create_token(session: Session, employee: Employee) -> str:
    """Issue a token; only its hash is stored, so the caller must show it now."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(employee_id=employee.id, token_hash=hash_token(token)))
    session.flush()
    return token


def authenticate(session: Session, token: str) -> Employee | None:
    return authenticate_hash(session, hash_token(token))


def authenticate_hash(session: Session, token_hash: str) -> Employee | None:
    """The employee a live token (known by its hash, as the auditor page's cookie keeps it)
    belongs to. Read on every request, never cached: a revoked token or a deactivated employee
    is refused from the next request on."""
    employee: Employee | None = session.scalar(live_token_holder(token_hash, Employee))
    return employee


def live_token_holder(token_hash: str | BindParameter[str], *columns: Any) -> Select[Any]:
    """`columns` of the active employee whose unrevoked token has this hash."""
    return (
        select(*columns)
        .join(ApiToken, ApiToken.employee_id == Employee.id)
        .where(
            ApiToken.token_hash == token_hash,
            ApiToken.revoked_at.is_(None),
            Employee.active.is_(True),
        )
    )


def list_tokens(session: Session, email: str | None = None) -> list[tuple[ApiToken, str]]:
    """Tokens with their employee's email, oldest first; only hashes are stored."""
    stmt = (
        select(ApiToken, Employee.email)
        .join(Employee, ApiToken.employee_id == Employee.id)
        .order_by(ApiToken.id)
    )
    if email is not None:
        stmt = stmt.where(Employee.email == email.strip().lower())
    return [(token, owner) for token, owner in session.execute(stmt)]


def revoke_token(
    session: Session, token_id: int, *, actor: Actor, channel: Channel
) -> tuple[ApiToken, bool]:
    """Revoke a token; the bool is False if it already was."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token with id {token_id}")
    stmt = (
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    revoked = session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
    session.refresh(token)
    if revoked:
        owner = session.get(Employee, token.employee_id)
        audit.record(
            session,
            expense_id=None,
            actor=actor,
            action=AuditAction.TOKEN_REVOKED,
            channel=channel,
            context=EventContext(
                details={
                    "token_id": token_id,
                    "employee_id": token.employee_id,
                    "email": owner.email if owner else None,
                }
            ),
        )
    return token, revoked
