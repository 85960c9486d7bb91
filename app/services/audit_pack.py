"""A month's evidence pack: one zip an auditor can keep and check without the bot.

Everything in it is read in one read-only snapshot, so the verification, the head, the exports,
the policies and the reports all describe the same moment of the log.
"""

import csv
import hashlib
import io
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.domain.audit_chain import Verdict
from app.domain.audit_export import LINE_END, csv_chunks
from app.domain.audit_filter import AuditFilter, month_bounds
from app.domain.audit_reports import ReportName
from app.services import audit_reports, policy_versions
from app.services.audit_export import ExportFormat, export_from
from app.services.audit_verify import snapshot, verify_snapshot

SAMPLE_RATE = Decimal("0.05")
README = """Evidence pack for {month} (UTC), made {made} by expense-bot.

events.csv       the month's audit events, one row per event (spreadsheet-safe: a cell that
                 would start a formula has a leading ')
events.jsonl     the same events exactly as hashed: each line's hash can be recomputed from it
verification.txt the whole chain checked at the time of this pack, and its result
head.txt         the newest event's ID:HASH at that moment: keep it as an anchor
policies/        the text of every policy version in force during the month, named by version
                 and SHA-256 (index.csv lists them)
reports/         the month's reports: a 5% sample of auto-approvals (seed {month}), refused
                 decisions (sod), decisions against the AI, time to decision
MANIFEST.sha256  the SHA-256 of every file above: check with `sha256sum -c MANIFEST.sha256`

To check the chain again later: expense-bot audit verify --anchor $(cat head.txt)
"""


@dataclass(frozen=True, slots=True)
class Pack:
    path: Path
    verdict: Verdict
    files: dict[str, str]
    policies: list[str]
    unrecorded_versions: list[str]


class _Writer:
    """Adds entries to the zip, hashing each as it streams in."""

    def __init__(self, archive: zipfile.ZipFile, stamp: datetime) -> None:
        self.archive = archive
        self.stamp = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
        self.digests: dict[str, str] = {}

    def add(self, name: str, chunks: Iterable[bytes]) -> None:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        digest = hashlib.sha256()
        with self.archive.open(info, "w", force_zip64=True) as entry:
            for chunk in chunks:
                digest.update(chunk)
                entry.write(chunk)
        self.digests[name] = digest.hexdigest()

    def add_text(self, name: str, text: str) -> None:
        self.add(name, [text.encode("utf-8")])


def _verification_text(verdict: Verdict, checked_at: datetime) -> str:
    lines = [f"checked at {checked_at.isoformat()}"]
    if verdict.problem is None:
        lines.append(f"audit log intact: {verdict.checked} event(s) checked")
    else:
        problem = verdict.problem
        lines.append(f"audit log BROKEN at event {problem.event_id}: {problem.fault.value}")
        lines.append(problem.message)
        lines.append(f"{verdict.checked} event(s) checked before it")
    if verdict.last is not None:
        last = verdict.last
        lines.append(f"head: event {last.id} seq {last.seq} hash {last.hash}")
    return "\n".join(lines) + "\n"


def _csv_text(columns: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=LINE_END)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def build(engine: Engine, policy_currency: str, month: str, out: Path) -> Pack:
    """Write the pack for `month` (YYYY-MM) to `out`; a broken chain is reported, not hidden."""
    start, end = month_bounds(month)
    flt = AuditFilter(since=start, until=end)
    made = datetime.now(UTC)
    partial = out.with_name(out.name + ".partial")
    with snapshot(engine) as conn, zipfile.ZipFile(partial, "w") as archive:
        zipped = _Writer(archive, made)
        zipped.add_text("README.txt", README.format(month=month, made=made.isoformat()))
        verdict = verify_snapshot(conn)
        zipped.add_text("verification.txt", _verification_text(verdict, made))
        head = verdict.last
        zipped.add_text("head.txt", f"{head.id}:{head.hash}\n" if head else "(empty log)\n")
        zipped.add("events.csv", export_from(conn, flt, policy_currency, ExportFormat.CSV))
        zipped.add("events.jsonl", export_from(conn, flt, policy_currency, ExportFormat.JSONL))
        session = Session(bind=conn)
        texts = policy_versions.in_force(session, start, end)
        kept = {policy.version for policy in texts}
        named = policy_versions.versions_named(session, start, end)
        missing = [version for version in named if version not in kept]
        index = []
        for policy in texts:
            name = f"policies/{policy.version}.{policy.sha256[:12]}.toml"
            zipped.add_text(name, policy.text)
            index.append((policy.version, policy.sha256, policy.first_used_at.isoformat(), name))
        # Versions decided under before the bot kept policy texts: named, so the gap is visible.
        index += [(version, "", "", "(text not recorded)") for version in missing]
        zipped.add_text(
            "policies/index.csv",
            _csv_text(("version", "sha256", "first_used_at", "file"), index),
        )
        for name in ReportName:
            report = audit_reports.build(
                session, name, flt, policy_currency, rate=SAMPLE_RATE, seed=month
            )
            chunks = csv_chunks(report.rows, report.columns)
            zipped.add(f"reports/{name.value}.csv", (c.encode("utf-8") for c in chunks))
        session.close()
        manifest = "".join(f"{digest}  {name}\n" for name, digest in zipped.digests.items())
        zipped.add_text("MANIFEST.sha256", manifest)
    os.replace(partial, out)
    return Pack(out, verdict, zipped.digests, [policy.version for policy in texts], missing)
