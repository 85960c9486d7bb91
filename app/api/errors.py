"""Maps domain errors to HTTP answers."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.domain.errors import DomainError, IdempotencyConflict, NotFound

STATUS_BY_ERROR: dict[type[DomainError], int] = {NotFound: 404, IdempotencyConflict: 409}


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        code = next((c for t, c in STATUS_BY_ERROR.items() if isinstance(exc, t)), 400)
        return JSONResponse({"detail": str(exc)}, status_code=code)
