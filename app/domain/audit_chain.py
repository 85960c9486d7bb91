"""The tamper-evident audit chain: canonical event bytes, SHA-256 links, and the walk over them.

Canonical form, format version 1. It never changes: a different form gets a new version number,
and every event keeps the version it was written with.

* The content is a JSON array of the fields of `EventContent`, in the order they are declared
  there (`CONTENT_FIELDS`), missing values as null; no white space (separators `,` and `:`),
  UTF-8 with non-ASCII characters as themselves. NaN and infinities are refused.
* `created_at` is UTC with exactly six fractional digits: `"2026-11-22T02:03:39.629717Z"`.
* `expense_id` is the lowercase hyphenated UUID.
* Money and FX rates are decimal strings, exactly as stored (`"1500.00"`, `"0.0067"`).
* `llm_confidence` is the JSON number Python's `repr` gives the float (its shortest exact form).
* `rule_trace`, `llm_reasons` and `details` enter as strings: their canonical JSON text (keys
  sorted by code point at every level, otherwise as above), which is also exactly what the
  database stores. A verifier splices the stored text; it never has to re-encode JSON.
* The hash of the event at position `seq` (1, 2, 3, ...) is the lowercase hex SHA-256 of the
  ASCII header `expense-bot-audit/1\\n{seq}\\n{prev_hash}\\n` followed by the content bytes;
  `prev_hash` is the hash of the event at `seq - 1`, or 64 zeros for the first event.

The walk takes events in id order, one at a time, so checking a log needs no more memory than
checking one event.
"""

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64
_HEADER = b"expense-bot-audit/%d\n%d\n%b\n"
_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ARRAY = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)

Json = str | int | float | bool | None | list["Json"] | dict[str, "Json"]


@dataclass(frozen=True, slots=True)
class EventContent:
    """Everything an event says; every field goes into its hash. Field names are column names."""

    created_at: datetime
    expense_id: uuid.UUID | None
    channel: str
    actor_kind: str
    actor_id: str | None
    actor_employee_id: int | None
    actor_email: str | None
    action: str
    from_status: str | None
    to_status: str | None
    amount: str | None
    currency: str | None
    policy_amount: str | None
    policy_currency: str | None
    fx_rate: str | None
    reason: str | None
    policy_version: str | None
    rule_trace: list[dict[str, Json]] | None
    llm_model: str | None
    llm_recommendation: str | None
    llm_confidence: float | None
    llm_reasons: list[str] | None
    details: dict[str, Json]


CONTENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(EventContent))
JSON_FIELDS = frozenset({"rule_trace", "llm_reasons", "details"})
_JSON_POSITIONS = tuple(i for i, name in enumerate(CONTENT_FIELDS) if name in JSON_FIELDS)


def canonical_json(value: Json) -> str:
    """The text a JSON field is stored as, and hashed as."""
    return _JSON.encode(value)


def utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def event_document(content: EventContent) -> dict[str, Any]:
    """The content as a mapping of column names to values."""
    return {name: getattr(content, name) for name in CONTENT_FIELDS}


def stored_values(content: EventContent) -> list[Any]:
    """The content as the database stores it, in `CONTENT_FIELDS` order (JSON fields as text)."""
    values = [getattr(content, name) for name in CONTENT_FIELDS]
    for i in _JSON_POSITIONS:
        if values[i] is not None:
            values[i] = canonical_json(values[i])
    return values


def canonical_values(values: Sequence[Any]) -> bytes:
    """Canonical bytes of stored values (see `stored_values`).

    `created_at` may come as its canonical text already, and the expense id in any UUID form.
    """
    row = list(values)
    if not isinstance(row[0], str):
        row[0] = utc_text(row[0])
    expense_id = row[1]
    if expense_id is not None and (not isinstance(expense_id, str) or len(expense_id) != 36):
        row[1] = str(uuid.UUID(str(expense_id)))
    return _ARRAY.encode(row).encode("utf-8")


def canonical_content(content: EventContent) -> bytes:
    return canonical_values(stored_values(content))


def chain_hash(seq: int, prev_hash: str, content_bytes: bytes) -> str:
    header = _HEADER % (FORMAT_VERSION, seq, prev_hash.encode("ascii"))
    return hashlib.sha256(header + content_bytes).hexdigest()


def parse_anchor(text: str) -> tuple[int, str]:
    """`ID:HASH` or `ID HASH` -> (id, hash). Raises ValueError naming what is wrong."""
    parts = text.replace(":", " ", 1).split()
    if len(parts) != 2 or not parts[0].isdigit():
        raise ValueError(f"anchor {text.strip()!r} is not ID:HASH")
    digest = parts[1].lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"anchor {text.strip()!r}: the hash is not 64 hex digits")
    return int(parts[0]), digest


# Tuples rather than dataclasses: the walk makes two per event, a million times over.
class StoredEvent(NamedTuple):
    """A row as read back: its place on the chain, and its values as `stored_values` gives them."""

    id: int
    seq: int
    prev_hash: str
    hash: str
    format_version: int
    values: Sequence[Any]


class ChainPoint(NamedTuple):
    """A position in the chain; `id` is None for the recorded head and the start."""

    seq: int
    hash: str
    id: int | None = None


START = ChainPoint(0, GENESIS_HASH)


class Fault(StrEnum):
    CHANGED = "changed"
    REMOVED = "removed"
    INSERTED = "inserted"
    REORDERED = "reordered"
    REWRITTEN = "rewritten"


@dataclass(frozen=True, slots=True)
class Problem:
    fault: Fault
    event_id: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    checked: int
    anchors_checked: int
    last: ChainPoint | None
    problem: Problem | None


def _label(event: StoredEvent) -> str:
    return f"event {event.id} (seq {event.seq})"


def _order_problem(
    event: StoredEvent, prev: ChainPoint | None, following: StoredEvent | None
) -> Problem | None:
    expected = prev.seq + 1 if prev is not None else event.seq
    if event.seq == expected:
        return None
    if event.seq < expected:
        return Problem(
            Fault.INSERTED,
            event.id,
            f"{_label(event)} repeats a position already passed (seq {expected} was expected): "
            "it was inserted or moved",
        )
    if following is not None and following.seq < event.seq:
        return Problem(
            Fault.REORDERED,
            event.id,
            f"{_label(event)} comes before event {following.id} (seq {following.seq}): "
            f"events were reordered (seq {expected} was expected here)",
        )
    after = f" after event {prev.id}" if prev is not None and prev.id is not None else ""
    return Problem(
        Fault.REMOVED,
        event.id,
        f"{event.seq - expected} event(s) (seq {expected}..{event.seq - 1}){after} and before "
        f"{_label(event)} were removed",
    )


def _check(
    event: StoredEvent,
    prev: ChainPoint | None,
    following: StoredEvent | None,
    anchors: Mapping[int, str],
    head: ChainPoint | None,
) -> Problem | None:
    if head is not None and event.seq > head.seq:
        return Problem(
            Fault.INSERTED,
            event.id,
            f"{_label(event)} lies beyond the recorded chain head (seq {head.seq}): it was "
            "inserted behind the application's back",
        )
    order = _order_problem(event, prev, following)
    if order is not None:
        return order
    if event.format_version != FORMAT_VERSION:
        return Problem(
            Fault.CHANGED,
            event.id,
            f"{_label(event)} claims unknown format version {event.format_version}",
        )
    recomputed = chain_hash(event.seq, event.prev_hash, canonical_values(event.values))
    if recomputed != event.hash:
        return Problem(
            Fault.CHANGED,
            event.id,
            f"{_label(event)} was changed: its content no longer matches its hash "
            f"(stored {event.hash[:16]}..., content gives {recomputed[:16]}...)",
        )
    if prev is not None and event.prev_hash != prev.hash:
        if prev.id is None:
            return Problem(
                Fault.CHANGED,
                event.id,
                f"{_label(event)} does not link to the expected starting hash {prev.hash[:16]}...",
            )
        return Problem(
            Fault.CHANGED,
            prev.id,
            f"event {prev.id} (seq {prev.seq}) was changed: its hash {prev.hash[:16]}... is "
            f"not the {event.prev_hash[:16]}... that {_label(event)} links to",
        )
    anchored = anchors.get(event.id)
    if anchored is not None and anchored != event.hash:
        return Problem(
            Fault.REWRITTEN,
            event.id,
            f"anchor {event.id}:{anchored[:16]}... does not match: {_label(event)} now has hash "
            f"{event.hash[:16]}...; the log was rewritten at or before this event",
        )
    return None


def _end_problem(last: ChainPoint | None, head: ChainPoint | None) -> Problem | None:
    if head is None:
        return None
    if last is None:
        if head.seq == 0:
            return None
        return Problem(
            Fault.REMOVED, None, f"no events, but the chain head records {head.seq} event(s)"
        )
    if last.seq < head.seq:
        return Problem(
            Fault.REMOVED,
            last.id,
            f"the last {head.seq - last.seq} event(s) after event {last.id} (seq {last.seq}) "
            f"were removed: the chain head records seq {head.seq}",
        )
    if last.hash != head.hash:
        return Problem(
            Fault.CHANGED,
            last.id,
            f"event {last.id} (seq {last.seq}) was changed: the chain head records hash "
            f"{head.hash[:16]}..., the event has {last.hash[:16]}...",
        )
    return None


def walk(
    events: Iterable[StoredEvent],
    *,
    start: ChainPoint | None = START,
    anchors: Mapping[int, str] | None = None,
    head: ChainPoint | None = None,
) -> Verdict:
    """Check `events` (in id order) link up from `start` and end at `head`.

    `start=None` trusts the first event's position (verifying from the middle of the log).
    Stops at the first problem; a later one may hide behind it.
    """
    anchors = anchors or {}
    seen_anchors: set[int] = set()
    last_seq = head.seq if head is not None else None
    prev = start
    checked = 0
    stream = iter(events)
    current = next(stream, None)
    while current is not None:
        following = next(stream, None)
        event_id, seq, prev_hash, digest, version, values = current
        # The common case in one expression; `_check` explains whatever fails (it runs rarely).
        whole = (
            (prev is None or (seq == prev.seq + 1 and prev_hash == prev.hash))
            and (last_seq is None or seq <= last_seq)
            and version == FORMAT_VERSION
            and chain_hash(seq, prev_hash, canonical_values(values)) == digest
            and anchors.get(event_id, digest) == digest
        )
        if not whole:
            problem = _check(current, prev, following, anchors, head)
            if problem is not None:
                return Verdict(checked, len(seen_anchors), prev, problem)
        if event_id in anchors:
            seen_anchors.add(event_id)
        checked += 1
        prev = ChainPoint(seq, digest, event_id)
        current = following
    last = prev if checked else None
    missing = sorted(set(anchors) - seen_anchors)
    if missing:
        problem = Problem(
            Fault.REMOVED, missing[0], f"anchored event {missing[0]} is not in the log: removed"
        )
        return Verdict(checked, len(seen_anchors), last, problem)
    return Verdict(checked, len(seen_anchors), last, _end_problem(last, head))


def build_chain(contents: Sequence[bytes], after: ChainPoint) -> list[tuple[int, str, str]]:
    """(seq, prev_hash, hash) for each canonical content, appended after `after`."""
    links = []
    prev = after.hash
    for offset, body in enumerate(contents, start=1):
        seq = after.seq + offset
        digest = chain_hash(seq, prev, body)
        links.append((seq, prev, digest))
        prev = digest
    return links
