"""Reading the audit chain back: a streaming verification, and the head to anchor or witness."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, select

from app.domain.audit_chain import (
    CONTENT_FIELDS,
    START,
    ChainPoint,
    EventContent,
    StoredEvent,
    Verdict,
    walk,
)
from models import AuditChainHead, AuditEvent

# Rows fetched per round trip from the server-side cursor: memory stays flat however long the log.
STREAM_BATCH = 2000
_CHAIN_COLUMNS = (
    AuditEvent.id,
    AuditEvent.seq,
    AuditEvent.prev_hash,
    AuditEvent.hash,
    AuditEvent.format_version,
)
_COLUMNS = (*_CHAIN_COLUMNS, *(getattr(AuditEvent, name) for name in CONTENT_FIELDS))
_SPLIT = len(_CHAIN_COLUMNS)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection that sees one moment of the log, however long the walk takes."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        else:
            # pysqlite opens no transaction for reads; without one, each SELECT sees a new moment.
            conn.exec_driver_sql("BEGIN")
        yield conn
        conn.rollback()


def recorded_head(conn: Connection) -> ChainPoint | None:
    row = conn.execute(select(AuditChainHead.seq, AuditChainHead.hash)).one_or_none()
    return None if row is None else ChainPoint(row.seq, row.hash)


def last_event(conn: Connection) -> ChainPoint | None:
    """The newest event's position: what `audit head` prints and the witness posts."""
    row = conn.execute(
        select(AuditEvent.seq, AuditEvent.hash, AuditEvent.id).order_by(AuditEvent.id.desc())
    ).first()
    return None if row is None else ChainPoint(row.seq, row.hash, row.id)


def _stored(row: Sequence[Any]) -> StoredEvent:
    return StoredEvent(row[0], row[1], row[2], row[3], row[4], EventContent(*row[_SPLIT:]))


def stream_events(conn: Connection, *, since_id: int | None = None) -> Iterator[StoredEvent]:
    stmt = select(*_COLUMNS).order_by(AuditEvent.id)
    if since_id is not None:
        stmt = stmt.where(AuditEvent.id >= since_id)
    result = conn.execution_options(yield_per=STREAM_BATCH).execute(stmt)
    return (_stored(row) for row in result)


def verify(
    engine: Engine, *, since_id: int | None = None, anchors: Mapping[int, str] | None = None
) -> Verdict:
    """Walk the whole log (or from event `since_id`), checking every link, anchor and the head."""
    with snapshot(engine) as conn:
        head = recorded_head(conn)
        if head is None:
            raise RuntimeError("the audit chain head is missing; run `expense-bot migrate`")
        return walk(
            stream_events(conn, since_id=since_id),
            start=None if since_id is not None else START,
            anchors=anchors,
            head=head,
        )
