"""`expense-bot audit pack`: a month's exports, verification, head, policies and reports, in a
zip that checks itself."""

import csv
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from app.db import Database
from app.policy_loader import load_policy
from app.services.decisions import Verdict
from app.settings import DEFAULT_POLICY_FILE
from tests.audit_rows import behind_the_triggers
from tests.audit_story import CONFIDENT_APPROVE, click, expense, staff


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def months(
    monkeypatch: pytest.MonkeyPatch, own_postgres_url: str, tmp_path: Path
) -> dict[str, str]:
    """October under the shipped policy; November under a new version; one event in December."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", own_postgres_url)
    monkeypatch.setenv("APP_ENV", "development")
    db = Database(own_postgres_url, job_sender=lambda _jobs: None)
    clock = Clock(datetime(2026, 10, 15, 9, 0, tzinfo=UTC))
    monkeypatch.setattr("app.services.audit.utcnow", clock)
    alice, ann = staff(db), staff(db, "approver")
    expense(db, alice, amount="40.00", advice=CONFIDENT_APPROVE)
    v2_file = tmp_path / "policy-v2.toml"
    v2_file.write_text(DEFAULT_POLICY_FILE.read_text().replace('version = "', 'version = "v2-', 1))
    v2 = load_policy(v2_file)
    clock.now = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    november = expense(db, alice, amount="1500.00", policy=v2)
    click(db, november, alice)  # refused: her own
    click(db, november, ann, Verdict.REJECT, reason="=not business")
    expense(db, alice, amount="45.00", advice=CONFIDENT_APPROVE, policy=v2)
    clock.now = datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)
    expense(db, alice, amount="50.00", policy=v2)
    db.dispose()
    return {"url": own_postgres_url, "v1": str(DEFAULT_POLICY_FILE), "v2": str(v2_file)}


def policy_name(path: str) -> str:
    """How the pack names a policy file: its version and the start of its SHA-256."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"{load_policy(Path(path)).version}.{digest[:12]}"


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_months_pack_holds_what_an_auditor_needs_and_checks_itself(
    months: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "2026-11.zip"
    assert main(["audit", "pack", "--month", "2026-11", "--out", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "audit log intact: 12 event(s) checked" in printed
    files = entries(out)
    v1_text, v2_text = Path(months["v1"]).read_bytes(), Path(months["v2"]).read_bytes()
    v1_name = (
        f"{load_policy(Path(months['v1'])).version}.{hashlib.sha256(v1_text).hexdigest()[:12]}"
    )
    v2_name = (
        f"{load_policy(Path(months['v2'])).version}.{hashlib.sha256(v2_text).hexdigest()[:12]}"
    )
    assert set(files) == {
        "README.txt",
        "verification.txt",
        "head.txt",
        "events.csv",
        "events.jsonl",
        f"policies/{v1_name}.toml",
        f"policies/{v2_name}.toml",
        "policies/index.csv",
        "reports/sample.csv",
        "reports/sod.csv",
        "reports/overrides.csv",
        "reports/timing.csv",
        "MANIFEST.sha256",
    }
    # The policy in force since October, and November's new one, byte for byte.
    assert files[f"policies/{v1_name}.toml"] == v1_text
    assert files[f"policies/{v2_name}.toml"] == v2_text
    # Only November's events, each rehashing to its hash.
    rows = [json.loads(line) for line in files["events.jsonl"].decode().splitlines()]
    assert [r["action"] for r in rows] == [
        "submitted",
        "routed_to_human",
        "decision_refused",
        "rejected",
        "submitted",
        "llm_reviewed",
        "auto_approved",
    ]
    assert all(r["created_at"].startswith("2026-11-") for r in rows)
    table = list(csv.DictReader(io.StringIO(files["events.csv"].decode("utf-8-sig"))))
    assert [int(r["id"]) for r in table] == [r["id"] for r in rows]
    assert table[3]["reason"] == "'=not business"
    assert "intact: 12 event(s) checked" in files["verification.txt"].decode()
    assert main(["audit", "head"]) == EXIT_OK
    anchor = capsys.readouterr().out.split("anchor: ")[1].strip()
    assert files["head.txt"].decode().strip() == anchor
    sod = list(csv.DictReader(io.StringIO(files["reports/sod.csv"].decode("utf-8-sig"))))
    assert [r["code"] for r in sod] == ["self_approval"]
    sample = list(csv.DictReader(io.StringIO(files["reports/sample.csv"].decode("utf-8-sig"))))
    assert [(r["seed"], r["population"]) for r in sample] == [("2026-11", "1")]
    manifest: dict[str, str] = {}
    for line in files["MANIFEST.sha256"].decode().splitlines():
        digest, name = line.split("  ", 1)
        manifest[name] = digest
    assert set(manifest) == set(files) - {"MANIFEST.sha256"}
    for name, digest in manifest.items():
        assert hashlib.sha256(files[name]).hexdigest() == digest, name


def test_octobers_pack_has_only_the_policy_then_in_force(
    months: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "2026-10.zip"
    assert main(["audit", "pack", "--month", "2026-10", "--out", str(out)]) == EXIT_OK
    files = entries(out)
    assert [n for n in files if n.startswith("policies/") and n.endswith(".toml")] == [
        f"policies/{policy_name(months['v1'])}.toml"
    ]
    rows = files["events.jsonl"].decode().splitlines()
    assert [json.loads(r)["action"] for r in rows] == ["submitted", "llm_reviewed", "auto_approved"]


def test_a_broken_chain_still_gets_its_pack_and_exits_1(
    months: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    behind_the_triggers(
        months["url"], "UPDATE audit_events SET reason = 'fine' WHERE action = 'rejected'"
    )
    out = tmp_path / "broken.zip"
    assert main(["audit", "pack", "--month", "2026-11", "--out", str(out)]) == EXIT_ERROR
    assert "BROKEN" in capsys.readouterr().err
    assert "BROKEN at event" in entries(out)["verification.txt"].decode()


def test_bad_months_and_paths_are_usage_errors(
    months: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "pack", "--month", "2026-13", "--out", "x.zip"]) == EXIT_USAGE
    assert "--month" in capsys.readouterr().err
    missing = tmp_path / "nope" / "x.zip"
    assert main(["audit", "pack", "--month", "2026-11", "--out", str(missing)]) == EXIT_USAGE
    assert not (tmp_path / "x.zip.partial").exists()
