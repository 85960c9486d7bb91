"""The auditor's view of the decision log: GET /audit/events with cursor pagination."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from app.api.deps import CurrentAuditor, DbDep
from app.api.schemas import AuditEventOut, AuditPage
from app.services import audit

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/events", response_model=AuditPage)
def list_audit_events(
    _auditor: CurrentAuditor,
    db: DbDep,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    after_id = None
    if cursor is not None:
        if not cursor.isdigit():
            raise HTTPException(422, "cursor must be a value returned as next_cursor")
        after_id = int(cursor)
    with db.session() as session:
        events = audit.list_events(session, after_id=after_id, limit=limit)
        out = [AuditEventOut.model_validate(e) for e in events]
    next_cursor = str(out[-1].id) if len(out) == limit else None
    return AuditPage(events=out, next_cursor=next_cursor)
