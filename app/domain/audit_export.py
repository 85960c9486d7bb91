"""The exported log: CSV for spreadsheets and JSON Lines for programs, one row per event.

Both carry every event's values exactly as they were hashed (see audit_chain), in the columns
`EXPORT_COLUMNS`. The JSON Lines file is byte-exact, so anyone can recompute each hash from it. The
CSV differs in one way: a text cell that a spreadsheet would run as a formula gets a leading `'`.
"""

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from app.domain.audit_chain import CONTENT_FIELDS, StoredEvent, utc_text

EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "seq",
    *CONTENT_FIELDS,
    "format_version",
    "prev_hash",
    "hash",
)
# What makes Excel, LibreOffice or Google Sheets treat a cell as a formula (or hide its start).
FORMULA_STARTS = frozenset("=+-@\t\r")
# Excel reads a CSV as UTF-8 only when it starts with a byte-order mark.
BOM = "\ufeff"
CHUNK_CHARS = 64 * 1024
# LF, as PostgreSQL's COPY writes it (see app/services/audit_copy.py); every spreadsheet reads it.
LINE_END = "\n"
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def spreadsheet_safe(value: Any) -> Any:
    """A text value that would start a formula, prefixed with `'` so it stays text."""
    if value.__class__ is str and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def export_values(event: StoredEvent) -> list[Any]:
    """The event's values in `EXPORT_COLUMNS` order, the time and expense id as hashed text."""
    row = [event.id, event.seq, *event.values, event.format_version, event.prev_hash, event.hash]
    # The database already hands both over as text (see audit_verify); other sources may not.
    if row[2].__class__ is not str:
        row[2] = utc_text(row[2])
    if row[3] is not None and row[3].__class__ is not str:
        row[3] = str(row[3])
    return row


class _Rows:
    """What the csv writer writes into: whole rows, their CRLF turned into LF.

    The writer is told CRLF so that it quotes a cell holding a lone CR too, as COPY does.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, row: str) -> int:
        line = row[:-2] + LINE_END
        self.parts.append(line)
        self.size += len(line)
        return len(row)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts, self.size = [], 0
        return text


def csv_chunks(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> Iterator[str]:
    """CSV with RFC 4180 quoting (LF line ends) in pieces of about CHUNK_CHARS.

    Starts with a byte-order mark and the header; every text cell is made spreadsheet-safe.
    """
    out = _Rows()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    yield BOM + out.take()
    for row in rows:
        writer.writerow([spreadsheet_safe(value) for value in row])
        if out.size >= CHUNK_CHARS:
            yield out.take()
    if out.parts:
        yield out.take()


def events_csv(events: Iterable[StoredEvent]) -> Iterator[str]:
    return csv_chunks((export_values(event) for event in events), EXPORT_COLUMNS)


def events_jsonl(events: Iterable[StoredEvent]) -> Iterator[str]:
    """One JSON object per line; `rule_trace`, `llm_reasons` and `details` stay the JSON text
    that was hashed (parse them again for their structure)."""
    lines: list[str] = []
    size = 0
    for event in events:
        line = _JSON.encode(dict(zip(EXPORT_COLUMNS, export_values(event), strict=True)))
        lines.append(line)
        size += len(line) + 1
        if size >= CHUNK_CHARS:
            lines.append("")
            yield "\n".join(lines)
            lines, size = [], 0
    if lines:
        lines.append("")
        yield "\n".join(lines)
