"""The exports on PostgreSQL: the server writes the CSV and JSON Lines itself (COPY TO STDOUT).

Python's csv module costs about 25 us a row for these wide rows, and its JSON encoder about 20;
COPY formats on the database's own core and this process only forwards bytes, which keeps a
million events well inside the export's time goal. The output is byte for byte what
`app.domain.audit_export` writes (a test holds the two side by side): for CSV the same columns
and RFC 4180 quoting, a text cell that would start a formula prefixed with `'`, empty for NULL;
for JSON Lines the same compact objects. Lines end in LF, as PostgreSQL writes them.
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
# COPY's csv format with a delimiter and a quote that JSON text never holds raw (to_json escapes
# every control character): each line comes out exactly as built, unquoted.
_VERBATIM = "FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02'"
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


def _json_value(name: str) -> ColumnElement[Any]:
    """A column as the JSON text Python's encoder gives its exported value."""
    column = as_hashed(name, "postgresql") if name in CONTENT_FIELDS else getattr(AuditEvent, name)
    if name == "llm_confidence":
        # PostgreSQL prints a whole float as "1"; Python's repr, which the hash uses, as "1.0".
        number = cast(column, Text)
        text: ColumnElement[Any] = case(
            (number.regexp_match("^-?[0-9]+$"), number + literal(".0")), else_=number
        )
    elif name in NOT_TEXT:
        text = cast(column, Text)
    else:
        text = cast(func.to_json(cast(column, Text)), Text)
    return func.coalesce(text, literal("null"))


def _json_line() -> ColumnElement[Any]:
    """One export row as a compact JSON object, keys in `EXPORT_COLUMNS` order."""
    parts: list[ColumnElement[Any]] = []
    for n, name in enumerate(EXPORT_COLUMNS):
        parts += [literal(("{" if n == 0 else ",") + f'"{name}":'), _json_value(name)]
    return func.concat(*parts, literal("}")).label("line")


def _compiled_sql(conn: Connection, stmt: Any) -> str:
    """A statement with its values bound by the driver (COPY takes no parameters)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        query: bytes = cursor.mogrify(str(compiled), compiled.params)
    finally:
        cursor.close()
    return query.decode()


def copy_sql(conn: Connection, where: Sequence[ColumnElement[bool]]) -> str:
    stmt = select(*(_cell(name) for name in EXPORT_COLUMNS)).where(*where).order_by(AuditEvent.id)
    return f"COPY ({_compiled_sql(conn, stmt)}) TO STDOUT WITH (FORMAT csv, HEADER true)"


def copy_jsonl_sql(conn: Connection, where: Sequence[ColumnElement[bool]]) -> str:
    stmt = select(_json_line()).where(*where).order_by(AuditEvent.id)
    return f"COPY ({_compiled_sql(conn, stmt)}) TO STDOUT WITH ({_VERBATIM})"


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
    yield BOM.encode("utf-8")
    yield from _copy_out(conn, copy_sql(conn, where))


def copy_jsonl(conn: Connection, where: Sequence[ColumnElement[bool]]) -> Iterator[bytes]:
    """The JSON Lines in chunks."""
    return _copy_out(conn, copy_jsonl_sql(conn, where))


def _copy_out(conn: Connection, sql: str) -> Iterator[bytes]:
    """What a COPY TO STDOUT writes, in chunks, read on a thread so memory stays flat."""
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
