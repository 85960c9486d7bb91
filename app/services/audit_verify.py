"""Reading the audit chain back: a streaming verification, and the head to anchor or witness."""

import contextlib
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Text,
    func,
    select,
    type_coerce,
)

from app.domain.audit_chain import (
    CONTENT_FIELDS,
    JSON_FIELDS,
    START,
    ChainPoint,
    StoredEvent,
    Verdict,
    walk,
)
from models import AuditChainHead, AuditEvent

# Rows fetched per round trip from the server-side cursor: memory stays flat however long the log.
STREAM_BATCH = 2000
PREFETCH = 1
_CHAIN_COLUMNS = (
    AuditEvent.id,
    AuditEvent.seq,
    AuditEvent.prev_hash,
    AuditEvent.hash,
    AuditEvent.format_version,
)
_SPLIT = len(_CHAIN_COLUMNS)
_PG_UTC_TEXT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def as_hashed(name: str, dialect: str) -> ColumnElement[Any]:
    """A column read as the text that was hashed, where the database can produce it.

    The server formats the time (on its own core) and JSON is read as stored, so the walk only
    splices and hashes.
    """
    column: ColumnElement[Any] = getattr(AuditEvent, name)
    if name == "created_at":
        if dialect == "postgresql":
            return func.to_char(func.timezone("UTC", column), _PG_UTC_TEXT)
        # SQLite keeps UTC as "YYYY-MM-DD HH:MM:SS.ffffff".
        return func.replace(type_coerce(column, Text), " ", "T").concat("Z")
    if name in JSON_FIELDS or name == "expense_id":
        return type_coerce(column, Text)
    return column


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


def stream_events(
    conn: Connection,
    *,
    since_id: int | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> Iterator[StoredEvent]:
    """Events in id order, as hashed, `where` all hold; a few batches in memory at a time."""
    dialect = conn.dialect.name
    stmt = select(*_CHAIN_COLUMNS, *(as_hashed(name, dialect) for name in CONTENT_FIELDS))
    stmt = stmt.where(*where).order_by(AuditEvent.id)
    if since_id is not None:
        stmt = stmt.where(AuditEvent.id >= since_id)
    if dialect == "postgresql":
        rows = _server_side_rows(conn, stmt)
    else:
        result = conn.execution_options(yield_per=STREAM_BATCH).execute(stmt)
        rows = (row for batch in result.partitions() for row in batch)
    for row in rows:
        yield StoredEvent(row[0], row[1], row[2], row[3], row[4], row[_SPLIT:])


def _server_side_rows(conn: Connection, stmt: Select[Any]) -> Iterator[Sequence[Any]]:
    """psycopg2's named cursor, directly (SQLAlchemy's per-row work would double the walk's time).

    A thread fetches the next batch while this one is hashed: the server formats rows on its
    own core meanwhile. At most PREFETCH batches wait, so memory stays flat.
    """
    # Expanded IN lists are rendered now: the driver sees plain placeholders. Parameters go to
    # the driver as they are, which this engine's psycopg2 connections adapt (UUIDs included).
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    cursor = conn.connection.driver_connection.cursor(name="audit_verify")  # type: ignore[union-attr]
    cursor.execute(str(compiled), compiled.params)
    batches: queue.Queue[list[Sequence[Any]] | BaseException] = queue.Queue(maxsize=PREFETCH)
    stop = threading.Event()

    def fetch() -> None:
        try:
            while not stop.is_set():
                rows = cursor.fetchmany(STREAM_BATCH)
                batches.put(rows)
                if not rows:
                    return
        except BaseException as exc:  # noqa: BLE001  (handed to the reading thread)
            batches.put(exc)

    fetcher = threading.Thread(target=fetch, name="audit-verify-fetch", daemon=True)
    fetcher.start()
    try:
        while True:
            batch = batches.get()
            if isinstance(batch, BaseException):
                raise batch
            if not batch:
                return
            yield from batch
    finally:
        stop.set()
        while fetcher.is_alive():  # a walk that stopped early: let a blocked put() finish
            with contextlib.suppress(queue.Empty):
                batches.get_nowait()
            fetcher.join(timeout=0.05)
        cursor.close()


def verify(
    engine: Engine, *, since_id: int | None = None, anchors: Mapping[int, str] | None = None
) -> Verdict:
    """Walk the whole log (or from event `since_id`), checking every link, anchor and the head."""
    with snapshot(engine) as conn:
        return verify_snapshot(conn, since_id=since_id, anchors=anchors)


def verify_snapshot(
    conn: Connection, *, since_id: int | None = None, anchors: Mapping[int, str] | None = None
) -> Verdict:
    """`verify` inside a snapshot the caller holds, to read other things at the same moment."""
    head = recorded_head(conn)
    if head is None:
        raise RuntimeError("the audit chain head is missing; run `expense-bot migrate`")
    return walk(
        stream_events(conn, since_id=since_id),
        start=None if since_id is not None else START,
        anchors=anchors,
        head=head,
    )
