"""Streaming the filtered log out as CSV or JSON Lines from one read-only snapshot.

Memory stays flat whatever the log's size: rows come from a server-side cursor (or, on PostgreSQL,
from COPY) a few batches at a time, and leave as chunks of text.
"""

from collections.abc import Iterator
from enum import StrEnum

from sqlalchemy import Connection, Engine

from app.domain.audit_export import events_csv, events_jsonl
from app.domain.audit_filter import AuditFilter
from app.services.audit_copy import copy_csv, copy_jsonl
from app.services.audit_query import conditions
from app.services.audit_verify import snapshot, stream_events


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


def export_chunks(
    engine: Engine, flt: AuditFilter, policy_currency: str, fmt: ExportFormat
) -> Iterator[bytes]:
    """The export as UTF-8 chunks. Reads outside any request transaction: a snapshot sees one
    moment of the log however long the download takes, and changes nothing."""
    with snapshot(engine) as conn:
        yield from export_from(conn, flt, policy_currency, fmt)


def export_from(
    conn: Connection, flt: AuditFilter, policy_currency: str, fmt: ExportFormat
) -> Iterator[bytes]:
    """The export, read on a connection (and snapshot) the caller holds."""
    where = conditions(flt, policy_currency)
    if conn.dialect.name == "postgresql":
        yield from (copy_csv if fmt is ExportFormat.CSV else copy_jsonl)(conn, where)
        return
    events = stream_events(conn, where=where)
    chunks = events_csv(events) if fmt is ExportFormat.CSV else events_jsonl(events)
    for chunk in chunks:
        yield chunk.encode("utf-8")
