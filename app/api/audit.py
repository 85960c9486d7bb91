"""The auditor's view of the decision log: GET /audit/events with cursor pagination."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentAuditor, DbDep
from app.api.problems import documented
from app.api.schemas import AuditEventOut, AuditPage
from app.services import audit

router = APIRouter(
    prefix="/audit", tags=["audit"], responses=documented(400, 401, 403, 413, 422, 429, 503)
)

# An event id, as returned in next_cursor: ASCII digits only, and within a BIGINT.
Cursor = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{1,18}$", description="The next_cursor of the previous page"),
]


@router.get("/events", response_model=AuditPage)
def list_audit_events(
    _auditor: CurrentAuditor,
    db: DbDep,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    after_id = int(cursor) if cursor is not None else None
    with db.session() as session:
        events = audit.list_events(session, after_id=after_id, limit=limit)
        out = [AuditEventOut.model_validate(e) for e in events]
    next_cursor = str(out[-1].id) if len(out) == limit else None
    return AuditPage(events=out, next_cursor=next_cursor)
