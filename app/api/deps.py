"""Request dependencies, injected through Annotated aliases."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.api.access import forbidden
from app.api.rate_limit import TokenLimiter
from app.db import Database
from app.domain.roles import Role
from app.services.employees import authenticate_hash, hash_token
from app.settings import Settings
from models import Employee

_bearer = HTTPBearer(auto_error=False)


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# `async` only so that FastAPI calls them on the event loop: a plain `def` dependency costs a
# hop to the thread pool and back on every request.
async def _db(request: Request) -> Database:
    return get_db(request)


async def _settings(request: Request) -> Settings:
    return get_settings_dep(request)


DbDep = Annotated[Database, Depends(_db)]
SettingsDep = Annotated[Settings, Depends(_settings)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def bearer_token_hash(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The presented token's hash, within its rate limit; not yet checked against the database."""
    if credentials is None or not credentials.credentials:
        raise unauthorized("missing bearer token")
    token_hash = hash_token(credentials.credentials)
    limiter: TokenLimiter = request.app.state.token_limiter
    limiter.check(token_hash)
    return token_hash


TokenHash = Annotated[str, Depends(bearer_token_hash)]


def authenticated(session: Session, token_hash: str) -> Employee:
    """The token's employee, read in the caller's transaction (never cached), or a 401."""
    employee = authenticate_hash(session, token_hash)
    if employee is None:
        raise unauthorized("invalid or revoked token")
    return employee


def current_employee(db: DbDep, token_hash: TokenHash) -> Employee:
    with db.session() as session:
        return authenticated(session, token_hash)


CurrentEmployee = Annotated[Employee, Depends(current_employee)]


def _require(
    role: Role, request: Request, db: Database, employee: Employee, detail: str
) -> Employee:
    """A 403 that is itself an audit event (access_refused), unless `employee` holds `role`."""
    if role.value not in employee.roles:
        raise forbidden(db, request, employee, detail)
    return employee


def current_auditor(request: Request, db: DbDep, employee: CurrentEmployee) -> Employee:
    detail = "the auditor role is required to read the audit log"
    return _require(Role.AUDITOR, request, db, employee, detail)


def current_admin(request: Request, db: DbDep, employee: CurrentEmployee) -> Employee:
    return _require(Role.ADMIN, request, db, employee, "the admin role is required")


CurrentAuditor = Annotated[Employee, Depends(current_auditor)]
CurrentAdmin = Annotated[Employee, Depends(current_admin)]
