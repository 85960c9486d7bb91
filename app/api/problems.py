"""Error answers in one shape: RFC 9457 problem details, with the request id."""

from http import HTTPStatus
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(description="Where the bad value is, e.g. body.amount or query.cursor")
    line: int | None = Field(default=None, description="The line of an uploaded file, if any")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


def problem_content(
    status: int, detail: str | None = None, *, errors: list[FieldError] | None = None
) -> dict[str, Any]:
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        request_id=correlation_id.get(),
        errors=errors,
    )
    return body.model_dump(exclude_none=True)


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_content(status, detail, errors=errors),
        status_code=status,
        headers=headers,
        media_type=MEDIA_TYPE,
    )


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give, all of the Problem shape."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def add_problem_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Register Problem (and FieldError) under components, where `documented` points."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    components["Problem"] = schema
    return openapi
