"""The auditor's view of the decision log: filtered pages of events, and streamed exports."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.api.audit_filters import AuditFilterDep
from app.api.deps import CurrentAuditor, DbDep, SettingsDep
from app.api.problems import documented
from app.api.schemas import AuditEventOut, AuditPage
from app.api.streaming import ClosingStreamingResponse
from app.policy_loader import load_policy
from app.services import audit_query
from app.services.audit_export import ExportFormat, export_chunks

router = APIRouter(
    prefix="/audit", tags=["audit"], responses=documented(400, 401, 403, 413, 422, 429, 503)
)

# An event id, as returned in next_cursor: ASCII digits only, and within a BIGINT.
Cursor = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{1,18}$", description="The next_cursor of the previous page"),
]
MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSONL: "application/x-ndjson; charset=utf-8",
}


@router.get("/events", response_model=AuditPage)
def list_audit_events(
    _auditor: CurrentAuditor,
    db: DbDep,
    settings: SettingsDep,
    flt: AuditFilterDep,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    after_id = int(cursor) if cursor is not None else None
    currency = load_policy(settings.policy_file).currency
    with db.session() as session:
        events = audit_query.list_events(session, flt, currency, after_id=after_id, limit=limit)
        out = [AuditEventOut.model_validate(e) for e in events]
    next_cursor = str(out[-1].id) if len(out) == limit else None
    return AuditPage(events=out, next_cursor=next_cursor)


def export_response(chunks: Iterator[bytes], fmt: ExportFormat) -> StreamingResponse:
    """Streams `chunks`; the first is read now, so a database outage is still a 503 problem."""
    first = next(chunks, b"")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return ClosingStreamingResponse(
        first,
        chunks,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="audit-events-{stamp}.{fmt.value}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/export.{fmt}",
    response_class=StreamingResponse,
    responses={
        200: {"content": {media: {"schema": {"type": "string"}} for media in MEDIA_TYPES.values()}}
    },
)
def export_events(
    fmt: ExportFormat,
    _auditor: CurrentAuditor,
    db: DbDep,
    settings: SettingsDep,
    flt: AuditFilterDep,
) -> StreamingResponse:
    """The matching events, streamed: `export.csv` for spreadsheets, `export.jsonl` byte-exact as
    hashed. The columns are listed in the README's "For auditors"."""
    currency = load_policy(settings.policy_file).currency
    return export_response(export_chunks(db.engine, flt, currency, fmt), fmt)
