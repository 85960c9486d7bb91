"""`expense-bot policy check|backtest` and `report calibration`, and reloading a policy file."""

import csv
import importlib.util
import io
import logging
import os
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.cli import EXIT_CONFIG, EXIT_ERROR, EXIT_OK, main
from app.db import Database
from app.domain.advice import LlmAdvice, Recommendation
from app.policy_loader import load_policy
from app.services import decisions
from app.settings import DEFAULT_POLICY_FILE
from tests.factories import claim, click, evaluate, person, policy_file


def test_check_accepts_the_shipped_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", str(DEFAULT_POLICY_FILE)]) == EXIT_OK
    assert "valid; version 2026-12-01.1, sha256 " in capsys.readouterr().out


def test_check_names_each_bad_field_and_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = policy_file(
        tmp_path,
        **{
            'currency = "USD"': 'currency = "XAU"',
            "shadow_mode = false": "shadow_mode = 1",
            'action = "reject"': 'action = "ban"',
            'meals = "750"': 'meals = "lots"',
        },
    )
    assert main(["policy", "check", str(bad)]) == EXIT_CONFIG
    lines = capsys.readouterr().err.splitlines()
    fields = [line.removeprefix(f"{bad}: ").split(":")[0] for line in lines]
    assert fields == [
        "currency",
        "forbidden_merchants[0].action",
        "monthly_caps.meals",
        "shadow_mode",
    ]
    broken = tmp_path / "broken.toml"
    broken.write_text("version = ")
    assert main(["policy", "check", str(broken)]) == EXIT_CONFIG
    assert "is not valid TOML" in capsys.readouterr().err


def test_start_up_refuses_a_policy_with_a_bad_clause(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APP_ENV", "development")
    bad = policy_file(tmp_path, **{"window_days = 30": "window_days = -1"})
    monkeypatch.setenv("POLICY_FILE", str(bad))
    assert main(["worker"]) == EXIT_CONFIG
    assert "duplicates.window_days" in capsys.readouterr().err


def test_a_bad_edit_keeps_the_last_good_policy_and_logs_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = policy_file(tmp_path)
    good = load_policy(path)
    path.write_text(path.read_text().replace("window_days = 30", 'window_days = "soon"'))
    os.utime(path, (1, 1))
    with caplog.at_level(logging.ERROR, logger="app.policy_loader"):
        assert load_policy(path) is good
    assert "duplicates.window_days" in caplog.text
    assert "the last good one stays" in caplog.text
    path.write_text(path.read_text().replace('window_days = "soon"', "window_days = 7"))
    os.utime(path, (2, 2))
    assert load_policy(path).clauses.duplicate_window_days == 7


@pytest.fixture
def history(
    monkeypatch: pytest.MonkeyPatch, own_postgres_url: str, tmp_path: Path
) -> Iterator[Database]:
    """A database of its own; the CLI reads it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", own_postgres_url)
    monkeypatch.setenv("APP_ENV", "development")
    db = Database(own_postgres_url, job_sender=lambda _jobs: None)
    yield db
    db.dispose()


def snapshot(url: str) -> list[object]:
    """Every expense and audit event as stored."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows: list[object] = list(conn.execute(text("SELECT * FROM expenses ORDER BY id")))
        rows += list(conn.execute(text("SELECT * FROM audit_events ORDER BY id")))
    engine.dispose()
    return rows


def test_backtest_reports_what_would_change_and_why_and_changes_nothing(
    history: Database, own_postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = load_policy(policy_file(tmp_path, "old.toml"))
    alice = person(history)
    small = evaluate(history, claim(history, alice, amount=Decimal("90.00")), old)
    large = evaluate(history, claim(history, alice, amount=Decimal("600.00")), old)
    casino = evaluate(history, claim(history, alice, merchant="Star Casino"), old)
    pending = evaluate(history, claim(history, alice, amount=Decimal("2000.00")), old)
    assert [e.status for e in (small, large, casino, pending)] == [
        "approved", "approved", "rejected", "pending_approval",
    ]  # fmt: skip
    new = policy_file(
        tmp_path,
        "new.toml",
        **{
            'auto_approve_below = "1000"': 'auto_approve_below = "500"',
            'match = "casino"\naction = "reject"': 'match = "casino"\naction = "flag"',
        },
    )
    before = snapshot(own_postgres_url)
    out = tmp_path / "changes.csv"
    assert main(["policy", "backtest", "--policy", str(new), "--csv", str(out)]) == EXIT_OK
    assert snapshot(own_postgres_url) == before
    err = capsys.readouterr().err
    assert "2 of 4 outcome(s) would change" in err
    assert "auto_approve -> human: 1" in err
    assert "auto_reject -> human: 1" in err
    with out.open(encoding="utf-8-sig") as f:
        rows = {row["expense_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == {str(large.id), str(casino.id)}
    assert rows[str(large.id)]["now"] == "human"
    assert "not below the 500 auto-approval limit" in rows[str(large.id)]["why"]
    assert rows[str(casino.id)]["why"] == "rule forbidden_merchant: forbidden merchant: casino"
    assert main(["policy", "backtest", "--policy", str(new), "--since", "2999-01-01"]) == EXIT_OK
    assert "0 of 0 outcome(s) would change" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_backtest_shows_a_progress_bar_on_a_terminal_only(
    history: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy = load_policy(policy_file(tmp_path))
    for _ in range(3):
        evaluate(history, claim(history, person(history)), policy)
    argv = ["policy", "backtest", "--policy", str(policy_file(tmp_path))]
    assert main(argv) == EXIT_OK
    assert "replaying expenses" not in capsys.readouterr().err
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(argv) == EXIT_OK
    assert "replaying expenses" in terminal.getvalue()
    assert "0 of 3 outcome(s) would change" in terminal.getvalue()


def test_a_bad_since_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["policy", "backtest", "--policy", "p.toml", "--since", "yesterday"])
    assert exit_.value.code == 2
    assert "--since" in capsys.readouterr().err


def test_calibration_compares_the_ai_with_the_humans(
    history: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = load_policy(policy_file(tmp_path))
    alice, bob = person(history), person(history, "approver")
    cases = [  # (recommendation, confidence, the human approves)
        (Recommendation.APPROVE, 0.97, True),
        (Recommendation.APPROVE, 0.96, False),
        (Recommendation.APPROVE, 0.55, True),
        (Recommendation.REJECT, 0.91, False),
    ]
    for recommendation, confidence, approves in cases:
        advice = LlmAdvice(recommendation, confidence, ("why",), "m")
        routed = evaluate(history, claim(history, alice, amount=Decimal("1200.00")), policy, advice)
        verdict = decisions.Verdict.APPROVE if approves else decisions.Verdict.REJECT
        click(history, routed.id, bob, verdict, reason="checked")
    # The gate's own decisions are not human decisions: left out.
    evaluate(history, claim(history, alice, merchant="casino"), policy)
    png = tmp_path / "reliability.png"
    assert main(["report", "calibration", "--png", str(png)]) == EXIT_OK
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line[:1].isdigit()}
    assert lines["0.95-1.00"][1:4] == ["2", "1", "0.500"]
    assert lines["0.50-0.60"][1:4] == ["1", "1", "1.000"]
    assert lines["0.90-0.95"][1:4] == ["1", "1", "1.000"]
    assert lines["0.95"][1:5] == ["2", "1", "0.500", "1200.00"]
    assert lines["0.97"][1:4] == ["1", "0", "0.000"]
    assert lines["0.50"][1:3] == ["3", "1"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_chart_asks_for_matplotlib_when_it_is_missing(
    history: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    png = tmp_path / "chart.png"
    assert main(["report", "calibration", "--png", str(png)]) == EXIT_ERROR
    assert "pip install -e '.[charts]'" in capsys.readouterr().err
    assert not png.exists()
