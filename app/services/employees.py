"""Employees and API tokens: adding people, issuing tokens, resolving a bearer token."""

import hashlib
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import DomainError, NotFound
from app.domain.roles import Role
from models import ApiToken, Employee

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
    belongs to; read on every request, so a revoked token fails from the next one."""
    stmt = (
        select(Employee)
        .join(ApiToken, ApiToken.employee_id == Employee.id)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    )
    return session.scalar(stmt)
