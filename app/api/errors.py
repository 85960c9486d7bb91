"""Maps every error to a problem-details answer: domain errors, bad input, outages, and bugs."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException

from app.api.problems import FieldError, problem_response
from app.domain.errors import (
    DomainError,
    IdempotencyConflict,
    InvalidInput,
    InvalidMoney,
    InvalidRows,
    NotFound,
    WouldLockOut,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    IdempotencyConflict: 409,
    InvalidInput: 422,
    InvalidMoney: 422,
    InvalidRows: 422,
    WouldLockOut: 409,
}
# How long a client should wait before retrying while the database is unreachable.
DATABASE_RETRY_AFTER = "5"
MESSAGE_LIMIT = 300


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def field_errors(exc: RequestValidationError) -> list[FieldError]:
    """Names each bad field; never echoes the input, which may be large or secret."""
    out = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")[:MESSAGE_LIMIT]
        out.append(FieldError(field=_where(error.get("loc", ())), message=message))
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(422, "The request is not valid.", errors=field_errors(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return problem_response(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        code = next((c for t, c in STATUS_BY_ERROR.items() if isinstance(exc, t)), 400)
        errors = None
        if isinstance(exc, InvalidInput):
            errors = [FieldError(field=f"{exc.location}.{exc.field}", message=str(exc))]
        elif isinstance(exc, InvalidRows):
            errors = [
                FieldError(field=p.field, line=p.line, message=p.message) for p in exc.problems
            ]
            return problem_response(code, "Nothing was changed.", errors=errors)
        return problem_response(code, str(exc), errors=errors)

    @app.exception_handler(OperationalError)
    async def database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        return problem_response(
            503,
            "The service cannot reach its database; nothing was changed. Try again shortly.",
            headers={"Retry-After": DATABASE_RETRY_AFTER},
        )

    @app.exception_handler(DBAPIError)
    async def database_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        log.error("database error: %s", type(exc.orig).__name__)
        return problem_response(500, "An internal error occurred; nothing was changed.")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s", type(exc).__name__, exc_info=exc)
        return problem_response(500, "An internal error occurred.")
