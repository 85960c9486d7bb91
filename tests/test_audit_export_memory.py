"""The exports stream: the API process's peak memory on a long log is that of a short one."""

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.pg import PG_ADMIN_URL, scratch_database
from tests.audit_api import abandon, api_process, download
from tests.audit_bulk import append_synthetic
from tests.helpers import wait_for

# Processes of their own on 200,000-event logs: part of `make test`, not of the edit-test loop.
pytestmark = pytest.mark.slow

# The short log already spans many fetch batches and chunks: both runs reach the same steady state.
SMALL, LARGE = 20_000, 200_000
# A buffered 200,000-event export would take hundreds of MB (the CSV alone is ~140 MB).
ALLOWED_GROWTH_KB = 16 * 1024


def export_both(url: str, workdir: Path, events: int) -> int:
    """Downloads the CSV and the JSONL of the whole log; returns the API's peak RSS in KB."""
    with api_process(url, workdir) as api:
        as_csv = download(api, "/audit/export.csv")
        as_jsonl = download(api, "/audit/export.jsonl")
        assert as_csv.lines == events + 1  # the header, then one line per event
        assert as_jsonl.lines == events
        assert as_csv.size > events * 500
        return api.peak_kb()


def exports_running(url: str) -> int:
    """Queries still reading this database's audit log for an export."""
    admin = create_engine(PG_ADMIN_URL)
    try:
        with admin.connect() as conn:
            found = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db"
                    " AND state = 'active' AND query LIKE 'COPY%audit_events%'"
                ),
                {"db": make_url(url).database},
            )
            return int(found or 0)
    finally:
        admin.dispose()


def test_an_abandoned_download_stops_its_query(migrated_template: str, tmp_path: Path) -> None:
    with scratch_database("expense_bot_abandon", template=migrated_template) as url:
        append_synthetic(url, SMALL)
        with api_process(url, tmp_path) as api:
            for path in ("/audit/export.csv", "/audit/export.jsonl"):
                abandon(api, path)
                # Promptly, not whenever a garbage collection happens to free the response.
                wait_for(
                    lambda: exports_running(url) == 0, timeout=5, what=f"{path}'s COPY to stop"
                )
            # The connections went back clean (or were dropped): the next export is whole.
            for _ in range(3):
                assert download(api, "/audit/export.csv").lines == SMALL + 1


def test_export_memory_stays_flat_as_the_log_grows(migrated_template: str, tmp_path: Path) -> None:
    with (
        scratch_database("expense_bot_export_small", template=migrated_template) as small,
        scratch_database("expense_bot_export_large", template=migrated_template) as large,
    ):
        append_synthetic(small, SMALL)
        append_synthetic(large, LARGE)
        short = export_both(small, tmp_path, SMALL)
        long = export_both(large, tmp_path, LARGE)
    assert long - short < ALLOWED_GROWTH_KB, (short, long)
