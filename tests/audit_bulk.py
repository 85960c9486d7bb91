"""Long, valid audit chains written fast with COPY, for the streaming test and the benchmark.

The rows are what the bot writes for a routed expense (rule trace, advice, money), chained with
the same domain functions, so `audit verify` reads and checks them like any other log.
"""

import io
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

from app.domain.audit_chain import (
    CONTENT_FIELDS,
    FORMAT_VERSION,
    EventContent,
    Json,
    canonical_values,
    chain_hash,
    stored_values,
    utc_text,
)

BATCH = 20_000
VARIANTS = 1_000
START = datetime(2026, 1, 1, tzinfo=UTC)
TRACE: list[dict[str, Json]] = [
    {"rule": "currency_convertible", "passed": True, "detail": "1512.00 USD", "figure": "EUR"},
    {"rule": "category_allowed", "passed": True, "detail": "allowed", "figure": "travel"},
    {"rule": "category_limit", "passed": True, "detail": "no limit", "figure": "1512.00"},
    {"rule": "receipt_present", "passed": True, "detail": "attached", "limit": "75"},
]


def synthetic(i: int) -> EventContent:
    return EventContent(
        created_at=START + timedelta(milliseconds=37 * i),
        expense_id=None,
        channel="worker",
        actor_kind="system",
        actor_id="policy-gate",
        actor_employee_id=None,
        actor_email=None,
        action="routed_to_human",
        from_status="submitted",
        to_status="pending_approval",
        amount=f"{1000 + i % 9000}.00",
        currency="EUR",
        policy_amount=f"{(1000 + i % 9000) * 108 / 100:.2f}",
        policy_currency="USD",
        fx_rate="1.08",
        reason=f"amount is not below the 1000 auto-approval limit; expense {i}",
        policy_version="2026-11-22.1",
        rule_trace=[dict(rule) for rule in TRACE],
        llm_model="gpt-4o-mini",
        llm_recommendation="approve",
        llm_confidence=0.5 + (i % 50) / 100,
        llm_reasons=["matches the trip", f"merchant {i % 97} is known"],
        details={"steps": ["approver"], "run": str(uuid.UUID(int=i))},
    )


def _copy_field(value: object) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    text = str(value)
    for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(raw, escaped)
    return text


def append_synthetic(url: str, count: int) -> None:
    """Append `count` chained events after the current head, and move the head.

    Contents cycle through VARIANTS prepared once; each event still has its own time, position
    and hash, so writing a row is mostly hashing.
    """
    variants = [stored_values(synthetic(i)) for i in range(min(count, VARIANTS))]
    tails = ["\t".join(_copy_field(v) for v in values[1:]) for values in variants]
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE")
        head = cursor.fetchone()
        assert head is not None, "run the migrations first"
        seq, prev = head
        columns = ", ".join(("seq", "prev_hash", "hash", "format_version", *CONTENT_FIELDS))
        for first in range(0, count, BATCH):
            lines = []
            for i in range(first, min(count, first + BATCH)):
                values = variants[i % len(variants)]
                created_at = utc_text(START + timedelta(milliseconds=37 * (seq + 1)))
                values[0] = created_at
                digest = chain_hash(seq + 1, prev, canonical_values(values))
                line = (seq + 1, prev, digest, FORMAT_VERSION, created_at, tails[i % len(tails)])
                lines.append("\t".join(map(str, line)))
                seq, prev = seq + 1, digest
            lines.append("")
            copy = f"COPY audit_events ({columns}) FROM STDIN"
            cursor.copy_expert(copy, io.StringIO("\n".join(lines)))
        cursor.execute("UPDATE audit_chain_head SET seq = %s, hash = %s WHERE id = 1", (seq, prev))
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


# Runs the real command in a fresh interpreter, which then reports its own peak RSS. VmHWM
# belongs to the process's own memory map; getrusage's maxrss would carry the parent's over exec.
_VERIFY_AND_REPORT_PEAK = """
import re, sys
from app.cli import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read()
print("peak_kb", re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1), file=sys.stderr)
sys.exit(code)
"""


@dataclass(frozen=True)
class VerifyRun:
    exit_code: int
    seconds: float
    peak_kb: int
    output: str


def run_cli(url: str, workdir: Path, *args: str) -> VerifyRun:
    """`expense-bot ARGS` (default: audit verify) in its own process: exit, wall time, peak RSS."""
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _VERIFY_AND_REPORT_PEAK, *(args or ("audit", "verify"))],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - started
    found = re.search(r"peak_kb (\d+)", done.stderr)
    assert found, done.stderr
    return VerifyRun(done.returncode, seconds, int(found.group(1)), done.stdout + done.stderr)
