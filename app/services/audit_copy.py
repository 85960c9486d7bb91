"""The CSV export on PostgreSQL: the server writes the CSV itself (COPY ... TO STDOUT).

Python's csv module costs about 25 us a row for these wide rows; COPY formats on the database's
own core and this process only forwards bytes, which keeps a million events well inside the
export's time goal. The cells are the ones `app.domain.audit_export` writes: the same columns
and RFC 4180 quoting, a text cell that would start a formula prefixed with `'` (done in SQL
here), empty for NULL. Lines end in LF, as PostgreSQL writes them.
"""

import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, case, cast, func, literal, select

from app.domain.audit_chain import CONTENT_FIELDS
from app.domain.audit_export import BOM, EXPORT_COLUMNS, FORMULA_STARTS
from app.services.audit_verify import as_hashed
from models import AuditEvent

NOT_TEXT = frozenset({"id", "seq", "format_version", "actor_employee_id", "llm_confidence"})
# Bytes per chunk handed to the response, and how many may wait for the client: memory stays
# at about a megabyte whatever the size; bigger chunks cost fewer thread hops per megabyte.
COPY_CHUNK_BYTES = 256 * 1024
QUEUED_CHUNKS = 4


class _Stopped(Exception):
    """The reader went away; the COPY is abandoned."""


def _cell(name: str) -> ColumnElement[Any]:
    column = as_hashed(name, "postgresql") if name in CONTENT_FIELDS else getattr(AuditEvent, name)
    if name == "expense_id":
        column = cast(AuditEvent.expense_id, Text)  # the hyphenated lowercase form, as hashed
    if name in NOT_TEXT:
        return column.label(name)
    risky = func.left(column, 1).in_(sorted(FORMULA_STARTS))
    return case((risky, literal("'") + column), else_=column).label(name)


def copy_sql(conn: Connection, where: Sequence[ColumnElement[bool]]) -> str:
    """The COPY statement, its values bound by the driver (COPY takes no parameters)."""
    stmt = select(*(_cell(name) for name in EXPORT_COLUMNS)).where(*where).order_by(AuditEvent.id)
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        query: bytes = cursor.mogrify(str(compiled), compiled.params)
    finally:
        cursor.close()
    return f"COPY ({query.decode()}) TO STDOUT WITH (FORMAT csv, HEADER true)"


class _Sink:
    """Where psycopg2 writes the COPY's rows: gathered into chunks and queued for the reader."""

    def __init__(self, chunks: "queue.Queue[bytes | BaseException | None]") -> None:
        self.chunks = chunks
        self.parts: list[bytes] = []
        self.size = 0
        self.stop = threading.Event()

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= COPY_CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.put(b"".join(self.parts))
            self.parts, self.size = [], 0

    def put(self, item: "bytes | BaseException | None") -> None:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                self.chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


def copy_csv(conn: Connection, where: Sequence[ColumnElement[bool]]) -> Iterator[bytes]:
    """The CSV in chunks, a byte-order mark first (so Excel reads it as UTF-8)."""
    sql = copy_sql(conn, where)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=QUEUED_CHUNKS)
    sink = _Sink(chunks)

    def pump() -> None:
        try:
            cursor.copy_expert(sql, sink)
            sink.flush()
            sink.put(None)
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001  (handed to the reading thread)
            try:
                sink.put(exc)
            except _Stopped:
                return

    worker = threading.Thread(target=pump, name="audit-export-copy", daemon=True)
    worker.start()
    finished = False
    try:
        yield BOM.encode("utf-8")
        while True:
            item = chunks.get()
            if item is None:
                finished = True
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        sink.stop.set()
        worker.join()
        cursor.close()
        if not finished:
            # A COPY abandoned half-way leaves the connection mid-protocol: never reuse it.
            conn.invalidate()
