"""Verifying a long audit log: wall time and peak memory of `expense-bot audit verify`.

Run: python -m bench.audit_verify [EVENTS] (default 1,000,000; goal: under 30 s, under 200 MB).
The events are COPYed into a throwaway PostgreSQL database as valid chained rows
(tests/audit_bulk.py). Then the real command runs in a fresh process, once over a one-event log
(the baseline: start-up and imports) and once over the long one.
"""

import sys
import tempfile
import time
from pathlib import Path

from bench.common import migrated_database
from tests.audit_bulk import append_synthetic, run_cli

GOAL_SECONDS, GOAL_MB = 30.0, 200.0


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with (
        tempfile.TemporaryDirectory() as tmp,
        migrated_database() as tiny,
        migrated_database() as long_log,
    ):
        append_synthetic(tiny, 1)
        started = time.perf_counter()
        append_synthetic(long_log, events)
        print(f"loaded {events:,} chained events with COPY in {time.perf_counter() - started:.1f}s")
        baseline = run_cli(tiny, Path(tmp))
        run = run_cli(long_log, Path(tmp))
    assert (baseline.exit_code, run.exit_code) == (0, 0), run.output
    assert f"{events} event(s) checked" in run.output
    walk = run.seconds - baseline.seconds
    print(
        f"audit verify, 1 event (baseline):  {baseline.seconds:6.2f}s  "
        f"peak RSS {baseline.peak_kb / 1024:6.1f} MB"
    )
    print(
        f"audit verify, {events:,} events: {run.seconds:6.2f}s  "
        f"peak RSS {run.peak_kb / 1024:6.1f} MB  "
        f"({walk / events * 1e6:.1f} us/event beyond the baseline)"
    )
    print(
        f"goal: under {GOAL_SECONDS:.0f}s and {GOAL_MB:.0f} MB -> "
        f"{'met' if run.seconds < GOAL_SECONDS and run.peak_kb / 1024 < GOAL_MB else 'NOT met'}; "
        f"memory growth over the baseline {(run.peak_kb - baseline.peak_kb) / 1024:.1f} MB"
    )


if __name__ == "__main__":
    main()
