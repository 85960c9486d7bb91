"""`audit verify` streams: its peak memory on a long log is that of a short one."""

from pathlib import Path

import pytest

from bench.pg import scratch_database
from tests.audit_bulk import append_synthetic, run_cli

# Processes of their own on 200,000-event logs: part of `make test`, not of the edit-test loop.
pytestmark = pytest.mark.slow

# The short log already spans several fetch batches, so both runs reach the same steady state.
SMALL, LARGE = 20_000, 200_000
# Buffering the long log's rows would take hundreds of MB; streaming holds a few batches.
ALLOWED_GROWTH_KB = 16 * 1024


def test_verify_memory_stays_flat_as_the_log_grows(migrated_template: str, tmp_path: Path) -> None:
    with (
        scratch_database("expense_bot_small", template=migrated_template) as small,
        scratch_database("expense_bot_large", template=migrated_template) as large,
    ):
        append_synthetic(small, SMALL)
        append_synthetic(large, LARGE)
        short = run_cli(small, tmp_path)
        long = run_cli(large, tmp_path)
    assert (short.exit_code, long.exit_code) == (0, 0), long.output
    assert f"{SMALL} event(s) checked" in short.output
    assert f"{LARGE} event(s) checked" in long.output
    assert long.peak_kb - short.peak_kb < ALLOWED_GROWTH_KB, (short.peak_kb, long.peak_kb)
