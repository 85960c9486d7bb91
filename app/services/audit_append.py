"""Putting queued audit events onto the chain as their transaction commits.

One row, `audit_chain_head`, holds the last position and hash. A writer locks it, links its
events after it, inserts them and moves it, and keeps the lock until its commit ends: so the
chain is one line whatever the number of API processes and worker threads, and a rollback takes
the events and the head back together (no gap). The lock is taken at commit, never earlier.

On PostgreSQL the common case is one round trip: the writer guesses the head from the last one
this process saw, and a single statement moves the head only if the guess holds, inserting the
events only if it did. A wrong guess changes nothing and costs one more round trip: lock, read,
insert. Correctness never rests on the guess.
"""

import logging
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, Dialect, insert, update
from sqlalchemy.exc import DBAPIError

from app.domain.audit_chain import (
    CONTENT_FIELDS,
    FORMAT_VERSION,
    ChainPoint,
    EventContent,
    build_chain,
    event_document,
)
from models import AuditChainHead, AuditEvent

log = logging.getLogger(__name__)
HEAD_ID = 1
_CHAIN_COLUMNS = ("seq", "prev_hash", "hash", "format_version")
_COLUMNS = (*_CHAIN_COLUMNS, *CONTENT_FIELDS)
Links = Sequence[tuple[int, str, str]]


class Pending(NamedTuple):
    content: EventContent
    stored: list[Any]  # as `stored_values` gives them: JSON fields as their canonical text
    canonical: bytes


class _LastSeen:
    """The head this process last wrote or read: a guess, possibly stale, never trusted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._point: ChainPoint | None = None

    def get(self) -> ChainPoint | None:
        with self._lock:
            return self._point

    def set(self, point: ChainPoint) -> None:
        with self._lock:
            self._point = point


last_seen = _LastSeen()


def append(conn: Connection, pending: Sequence[Pending], *, commit: bool = False) -> None:
    """Link `pending` onto the chain and insert it; the head stays locked until commit.

    `commit`: the caller commits right after this, so on PostgreSQL a few events may commit in
    the same round trip (see `_pg_append_and_commit`).
    """
    if conn.dialect.name == "postgresql":
        if commit and len(pending) <= SERVER_LINKED_MAX:
            _pg_append_and_commit(conn, pending)
            return
        if len(pending) == 1:
            _pg_append_one(conn, pending[0])
            return
        guess = last_seen.get()
        if guess is not None and _pg_append_if_head_is(conn, pending, guess):
            return
        head = conn.exec_driver_sql(_PG_TAKE_HEAD, {"count": len(pending)}).one_or_none()
        links = _links(pending, head)
        conn.exec_driver_sql(_pg_append_sql(len(pending)), _params(pending, links))
        return
    head = conn.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(seq=AuditChainHead.seq + len(pending))
        .returning(AuditChainHead.seq, AuditChainHead.hash)
    ).one_or_none()
    links = _links(pending, head)
    rows = [
        {
            **event_document(p.content),
            **dict(zip(_CHAIN_COLUMNS, (*link, FORMAT_VERSION), strict=True)),
        }
        for p, link in zip(pending, links, strict=True)
    ]
    conn.execute(insert(AuditEvent), rows)
    conn.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(hash=links[-1][2])
    )


def _links(pending: Sequence[Pending], taken: Sequence[Any] | None) -> Links:
    """Chain after the head (seq, hash) as it was before this writer took its positions."""
    if taken is None:
        raise RuntimeError("the audit chain head is missing; run `expense-bot migrate`")
    seq, digest = taken
    before = ChainPoint(seq - len(pending), digest)
    links = build_chain([p.canonical for p in pending], before)
    last_seq, _, last_hash = links[-1]
    last_seen.set(ChainPoint(last_seq, last_hash))
    return links


def _pg_append_if_head_is(conn: Connection, pending: Sequence[Pending], guess: ChainPoint) -> bool:
    links = build_chain([p.canonical for p in pending], guess)
    params = _params(pending, links)
    params.update(guess_seq=guess.seq, guess_hash=guess.hash, count=len(pending))
    if prepared_statements.allowed:
        inserted = _execute_prepared(conn, len(pending), params)
    else:
        sql = _pg_guessed_append_sql(len(pending), conn.dialect)
        inserted = conn.exec_driver_sql(sql, params).rowcount
    if inserted != len(pending):
        return False
    last_seq, _, last_hash = links[-1]
    last_seen.set(ChainPoint(last_seq, last_hash))
    return True


def _params(pending: Sequence[Pending], links: Links) -> dict[str, Any]:
    """Bind values: the text that was hashed, so the database stores exactly that."""
    params: dict[str, Any] = {"head": links[-1][2]}
    for k, (p, link) in enumerate(zip(pending, links, strict=True)):
        chain = zip(_CHAIN_COLUMNS, (*link, FORMAT_VERSION), strict=True)
        params.update((f"{name}_{k}", value) for name, value in chain)
        params.update(_content_params(p, k))
    return params


def _content_params(p: Pending, k: int) -> dict[str, Any]:
    params = {f"{name}_{k}": value for name, value in zip(CONTENT_FIELDS, p.stored, strict=True)}
    expense_id = p.content.expense_id
    params[f"expense_id_{k}"] = None if expense_id is None else str(expense_id)
    return params


def _pg_append_one(conn: Connection, pending: Pending) -> None:
    sql = f"{_pg_server_linked(conn.dialect, 1)} SELECT seq, hash FROM appended"
    row = conn.exec_driver_sql(sql, _server_linked_params([pending])).one_or_none()
    if row is None:
        raise RuntimeError(_NO_HEAD)
    last_seen.set(ChainPoint(*row))


# Each event's hash nests the one before it in the statement, so keep the count small: one
# transaction writes one to three events (a gate decision: the LLM's review, the route).
SERVER_LINKED_MAX = 4


def _pg_append_and_commit(conn: Connection, pending: Sequence[Pending]) -> None:
    """Chain, then COMMIT, in one round trip: the head is locked for the server's time only.

    A failing statement stops the ones after it, so nothing commits without its events; a
    missing head fails too (a division by zero when fewer events went in). The trailing BEGIN
    leaves an empty transaction for the session's own COMMIT, which then writes nothing.
    """
    count = len(pending)
    linked = _pg_server_linked(conn.dialect, count)
    sql = f"{linked} SELECT 1 / (count(*) = {count})::int FROM appended; COMMIT; BEGIN"
    try:
        conn.exec_driver_sql(sql, _server_linked_params(pending))
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) == _DIVISION_BY_ZERO:
            raise RuntimeError(_NO_HEAD) from exc
        raise


_NO_HEAD = "the audit chain head is missing; run `expense-bot migrate`"
_DIVISION_BY_ZERO = "22012"


def _server_linked_params(pending: Sequence[Pending]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for k, p in enumerate(pending):
        params.update(_content_params(p, k))
        params[f"canonical_{k}"] = p.canonical
    return params


def _pg_digest(k: int, seq: str, hash_: str) -> str:
    """The hash of the k-th event (from 1) after the point (`seq`, `hash_`): `chain_hash`'s,
    computed with PostgreSQL's sha256(), each nesting the one before."""
    prev = hash_ if k == 1 else _pg_digest(k - 1, seq, hash_)
    header = "E'expense-bot-audit/%%s\\n%%s\\n%%s\\n'"
    return (
        f"encode(sha256(convert_to(format({header}, {FORMAT_VERSION}, {seq} + {k}, {prev}), "
        f"'UTF8') || %(canonical_{k - 1})s), 'hex')"
    )


@lru_cache(maxsize=8)
def _pg_server_linked(dialect: Dialect, count: int) -> str:
    """`count` events, linked by the server: lock the head, hash, move it and insert
    (`appended`).

    No guess can be stale, and no step waits on this process while the head is locked (a lock
    held across a round trip and a busy interpreter is what bounds the chain's commit rate).
    """
    rows = " UNION ALL ".join(
        f"SELECT moved.old_seq + {k}, "
        f"{_pg_digest(k - 1, 'moved.old_seq', 'moved.old_hash') if k > 1 else 'moved.old_hash'}, "
        f"{_pg_digest(k, 'moved.old_seq', 'moved.old_hash')}, {FORMAT_VERSION}, "
        f"{_row(k - 1, dialect, CONTENT_FIELDS)} FROM moved"
        for k in range(1, count + 1)
    )
    return (
        f"WITH old AS (SELECT seq, hash FROM audit_chain_head WHERE id = {HEAD_ID} FOR UPDATE), "
        f"moved AS (UPDATE audit_chain_head AS head SET seq = old.seq + {count}, "
        f"hash = {_pg_digest(count, 'old.seq', 'old.hash')} FROM old WHERE head.id = {HEAD_ID} "
        "RETURNING old.seq AS old_seq, old.hash AS old_hash), "
        f"appended AS (INSERT INTO audit_events ({', '.join(_COLUMNS)}) {rows} "
        "RETURNING seq, hash)"
    )


_PG_TAKE_HEAD = (
    f"UPDATE audit_chain_head SET seq = seq + %(count)s WHERE id = {HEAD_ID} RETURNING seq, hash"
)


def _placeholders(
    count: int, dialect: Dialect | None = None, names: Sequence[str] = _COLUMNS
) -> str:
    """`(%(seq_0)s, ...), ...`, cast to the column types (for a SELECT) if `dialect` is given."""
    return ", ".join(f"({_row(k, dialect, names)})" for k in range(count))


def _row(k: int, dialect: Dialect | None, names: Sequence[str]) -> str:
    """`%(seq_k)s, ...` for the k-th row (from 0), cast as `_placeholders` says."""
    table = AuditEvent.__table__
    casts = {
        name: f"::{table.c[name].type.compile(dialect=dialect)}" if dialect else ""
        for name in names
    }
    return ", ".join(f"%({name}_{k})s{casts[name]}" for name in names)


@lru_cache(maxsize=32)
def _pg_append_sql(count: int) -> str:
    """Insert the events and move the head's hash, in one statement (the lock is already ours)."""
    return (
        f"WITH appended AS (INSERT INTO audit_events ({', '.join(_COLUMNS)}) "
        f"VALUES {_placeholders(count)}) "
        f"UPDATE audit_chain_head SET hash = %(head)s WHERE id = {HEAD_ID}"
    )


@lru_cache(maxsize=32)
def _pg_guessed_append_sql(count: int, dialect: Dialect) -> str:
    """Move the head from the guessed point, and insert the events only if that happened.

    Under READ COMMITTED the UPDATE waits for a writer holding the row and then re-checks its
    condition against the committed head, so a stale guess updates and inserts nothing.
    """
    return (
        "WITH moved AS (UPDATE audit_chain_head "
        "SET seq = seq + %(count)s, hash = %(head)s "
        f"WHERE id = {HEAD_ID} AND seq = %(guess_seq)s AND hash = %(guess_hash)s RETURNING 1) "
        f"INSERT INTO audit_events ({', '.join(_COLUMNS)}) "
        f"SELECT * FROM (VALUES {_placeholders(count, dialect)}) AS appended "
        "WHERE EXISTS (SELECT 1 FROM moved)"
    )


class _PreparedStatements:
    """Whether this process may use server-side prepared statements.

    A pooler in transaction mode (PgBouncer's default) hands each transaction any server
    connection, where our PREPARE may never have run. The first EXECUTE that finds its statement
    missing fails its transaction and switches this process to plain statements for good.
    """

    allowed = True


prepared_statements = _PreparedStatements()
_MISSING_PREPARED_STATEMENT = "26000"


def _execute_prepared(conn: Connection, count: int, params: dict[str, Any]) -> int:
    name, order = _prepared_guessed_append(conn, count)
    placeholders = ", ".join(["%s"] * len(order))
    try:
        result = conn.exec_driver_sql(
            f"EXECUTE {name} ({placeholders})", tuple(params[key] for key in order)
        )
    except DBAPIError as exc:
        if getattr(exc.orig, "pgcode", None) == _MISSING_PREPARED_STATEMENT:
            prepared_statements.allowed = False
            log.warning("prepared statements do not survive here (a pooler?); not using them")
        raise
    return int(result.rowcount)


def _prepared_guessed_append(conn: Connection, count: int) -> tuple[str, list[str]]:
    """This connection's prepared form of the guessed append: its name and parameter order.

    Prepared once per database connection (it outlives transactions, rollbacks included), so
    the server plans it once rather than on every commit.
    """
    name = f"audit_guessed_append_{count}"
    sql, order = _numbered(_pg_guessed_append_sql(count, conn.dialect))
    prepared: set[str] = conn.connection.info.setdefault("audit_prepared", set())
    if name not in prepared:
        conn.exec_driver_sql(f"PREPARE {name} AS {sql}")
        prepared.add(name)
    return name, order


@lru_cache(maxsize=32)
def _numbered(sql: str) -> tuple[str, list[str]]:
    """`%(name)s` placeholders as `$1, $2, ...`, and the names in that order."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql), order
