"""Exporting a long audit log over HTTP: wall time and the API process's peak memory.

Run: python -m bench.audit_export [EVENTS] (default 1,000,000; goal: under 30 s, under 200 MB).
The events are COPYed into a throwaway PostgreSQL database as valid chained rows
(tests/audit_bulk.py). The real API process (`expense-bot api`, as production) serves
GET /audit/export.csv and .jsonl to a client that reads every byte and keeps none; the API
then reports its own peak RSS (VmHWM). A one-event log run first gives the baseline.
"""

import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.common import migrated_database
from tests.audit_api import api_process, download
from tests.audit_bulk import append_synthetic

GOAL_SECONDS, GOAL_MB = 30.0, 200.0


def settle(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE) audit_events"))
    engine.dispose()


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp, migrated_database() as url:
        append_synthetic(url, 1)
        with api_process(url, Path(tmp)) as api:
            download(api, "/audit/export.csv")
            baseline_kb = api.peak_kb()
        started = time.perf_counter()
        append_synthetic(url, events - 1)
        print(f"loaded {events:,} chained events with COPY in {time.perf_counter() - started:.1f}s")
        # A log at rest has been vacuumed long ago; the first read of fresh COPYed rows would
        # otherwise pay for writing every page's hint bits.
        settle(url)
        results = {}
        for path in ("/audit/export.csv", "/audit/export.jsonl"):
            # A fresh API process for each, so each peak is that export's own.
            with api_process(url, Path(tmp)) as api:
                run = download(api, path)
                results[path] = (run, api.peak_kb())
    print(f"load average now: {load_average()} (other work on the machine slows every number)")
    print(f"API process after a one-event export (baseline): peak RSS {baseline_kb / 1024:.1f} MB")
    for path, (run, peak_kb) in results.items():
        met = run.seconds < GOAL_SECONDS and peak_kb / 1024 < GOAL_MB
        print(
            f"GET {path:<20} {events:,} events: {run.seconds:6.2f}s  "
            f"{run.size / 1e6:7.1f} MB sent ({run.size / run.seconds / 1e6:5.1f} MB/s)  "
            f"API peak RSS {peak_kb / 1024:6.1f} MB "
            f"(+{(peak_kb - baseline_kb) / 1024:.1f} MB)  "
            f"goal {GOAL_SECONDS:.0f}s/{GOAL_MB:.0f} MB: {'met' if met else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
